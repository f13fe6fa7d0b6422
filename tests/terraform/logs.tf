# CloudWatch Logs: the group the service's containers write to through the awslogs driver.

resource "aws_cloudwatch_log_group" "app" {
  name              = "/berth-tf/${var.name}"
  retention_in_days = 7

  tags = merge(var.tags, { Component = "logs" })
}
