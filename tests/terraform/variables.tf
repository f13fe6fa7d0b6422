# Inputs. The test passes every one of them on the command line (-var); the defaults are what a user of a local
# `berth up` would have.

variable "endpoint" {
  description = "Berth's API endpoint (ECS, CloudWatch Logs, IAM and STS)."
  type        = string
  default     = "http://127.0.0.1:8700"
}

variable "region" {
  description = "The region the Berth server was started with (--region)."
  type        = string
  default     = "us-east-1"
}

variable "access_key" {
  description = "An access key of the Berth server (~/.berth/credentials, profile berth)."
  type        = string
}

variable "secret_key" {
  description = "The secret of access_key."
  type        = string
  sensitive   = true
}

variable "name" {
  description = "Name of the managed cluster, the task definition family, the service, the log group's last part and the IAM names' first."
  type        = string
  default     = "berth-tf"
}

variable "image" {
  description = "The container image the service runs; changing it registers a new revision and rolls the service."
  type        = string
  default     = "berth-test/busybox:latest"
}

variable "service_cluster" {
  description = "The cluster holding the capacity the service runs on: `berth up` registers its own machine in default."
  type        = string
  default     = "default"
}

variable "desired_count" {
  description = "Copies of the task the service keeps running."
  type        = number
  default     = 2
}

variable "tags" {
  description = "Tags put on every resource that takes tags."
  type        = map(string)
  default = {
    Project = "berth"
    Suite   = "terraform-e2e"
  }
}
