# Terraform CLI configuration for the test (TF_CLI_CONFIG_FILE): the AWS provider comes from the local filesystem
# mirror, never from the registry (nothing outside is reachable). {mirror} is replaced by the test.
provider_installation {
  filesystem_mirror {
    path    = "{mirror}"
    include = ["registry.terraform.io/*/*"]
  }
  direct {
    exclude = ["registry.terraform.io/*/*"]
  }
}
disable_checkpoint = true
