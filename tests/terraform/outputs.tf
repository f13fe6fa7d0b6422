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

output "account_id" {
  value = data.aws_caller_identity.current.account_id
}

output "caller_arn" {
  value = data.aws_caller_identity.current.arn
}

output "user_arn" {
  value = aws_iam_user.deployer.arn
}

output "user_unique_id" {
  value = aws_iam_user.deployer.unique_id
}

output "group_arn" {
  value = aws_iam_group.operators.arn
}

output "policy_arn" {
  value = aws_iam_policy.ecs_operate.arn
}

output "role_arn" {
  value = aws_iam_role.task.arn
}

output "role_unique_id" {
  value = aws_iam_role.task.unique_id
}

output "access_key_id" {
  value = aws_iam_access_key.deployer.id
}

# The test signs with this key to see the attached policies at work.
output "access_key_secret" {
  value     = aws_iam_access_key.deployer.secret
  sensitive = true
}
