# What the test reads back with `terraform output -json` to find the resources.

output "cluster_arn" {
  value = aws_ecs_cluster.main.arn
}

output "capacity_cluster_arn" {
  value = data.aws_ecs_cluster.capacity.arn
}

output "task_definition_arn" {
  value = aws_ecs_task_definition.app.arn
}

output "task_definition_revision" {
  value = aws_ecs_task_definition.app.revision
}

output "service_id" {
  value = aws_ecs_service.app.id
}

output "log_group_name" {
  value = aws_cloudwatch_log_group.app.name
}

output "log_group_arn" {
  value = aws_cloudwatch_log_group.app.arn
}
