# Terraform and provider pins, and the provider aimed at Berth.
#
# Berth serves ECS, CloudWatch Logs, IAM and STS on one endpoint; every other service endpoint is left alone, so a
# resource type Berth does not serve fails loudly (nothing outside is reachable from the test machines). A later issue
# that adds a resource family (aws_lb*, ...) adds its endpoint below and its own .tf file next to these.

terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}

provider "aws" {
  region     = var.region
  access_key = var.access_key
  secret_key = var.secret_key

  # Berth is not AWS: the key is not validated nor the account looked up at start (data "aws_caller_identity" asks
  # Berth's STS for it where it is needed), no instance metadata, and the region is whatever the server was started
  # with.
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true

  # An error Berth answers should fail the run, not be retried for minutes (the default is 25 attempts).
  max_retries = 2

  endpoints {
    ecs            = var.endpoint
    cloudwatchlogs = var.endpoint
    iam            = var.endpoint
    sts            = var.endpoint
  }
}
