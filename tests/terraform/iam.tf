# IAM (and STS, through a data source): a deployer user with an access key, in an operators group; a customer
# managed policy attached to the user (and to the role); inline policies on the group and on the role; a task role
# trusting ecs-tasks.amazonaws.com.
#
# The managed policy lets its holder read ECS (Describe*, List*) and run tasks in the managed cluster only (an
# `ecs:cluster` condition); the group's inline policy lets its members read the log group. The test signs with the
# access key created here to see both at work. Berth has no AWS managed policies, so every attachment names the
# customer managed policy.

data "aws_caller_identity" "current" {}

locals {
  iam_path      = "/berth-tf/"
  account_id    = data.aws_caller_identity.current.account_id
  log_group_arn = "arn:aws:logs:${var.region}:${local.account_id}:log-group:${aws_cloudwatch_log_group.app.name}"
}

resource "aws_iam_user" "deployer" {
  name = "${var.name}-deployer"
  path = local.iam_path

  # Destroy removes what IAM would refuse DeleteUser for (access keys made outside Terraform, MFA devices, a login
  # profile, SSH keys, signing certificates, service-specific credentials), as a configuration for CI users does.
  force_destroy = true

  tags = merge(var.tags, { Component = "iam-user" })
}

resource "aws_iam_access_key" "deployer" {
  user = aws_iam_user.deployer.name
}

resource "aws_iam_group" "operators" {
  name = "${var.name}-operators"
  path = local.iam_path
}

resource "aws_iam_user_group_membership" "deployer" {
  user   = aws_iam_user.deployer.name
  groups = [aws_iam_group.operators.name]
}

resource "aws_iam_policy" "ecs_operate" {
  name        = "${var.name}-ecs-operate"
  path        = local.iam_path
  description = "Read ECS; run tasks in the managed cluster only."

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ReadEcs"
        Effect   = "Allow"
        Action   = ["ecs:Describe*", "ecs:List*"]
        Resource = "*"
      },
      {
        Sid      = "RunTaskInManagedCluster"
        Effect   = "Allow"
        Action   = "ecs:RunTask"
        Resource = "*"
        Condition = {
          ArnEquals = { "ecs:cluster" = aws_ecs_cluster.main.arn }
        }
      },
    ]
  })

  tags = merge(var.tags, { Component = "iam-policy" })
}

resource "aws_iam_user_policy_attachment" "deployer_ecs" {
  user       = aws_iam_user.deployer.name
  policy_arn = aws_iam_policy.ecs_operate.arn
}

resource "aws_iam_group_policy" "operators_logs" {
  name  = "read-logs"
  group = aws_iam_group.operators.name

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ListGroups"
        Effect   = "Allow"
        Action   = "logs:DescribeLogGroups"
        Resource = "*"
      },
      {
        Sid      = "ReadTheServicesGroup"
        Effect   = "Allow"
        Action   = ["logs:DescribeLogStreams", "logs:GetLogEvents"]
        Resource = [local.log_group_arn, "${local.log_group_arn}:*"]
      },
    ]
  })
}

data "aws_iam_policy_document" "ecs_tasks_trust" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "task" {
  name                 = "${var.name}-task"
  path                 = local.iam_path
  description          = "The role the service's tasks would run with."
  assume_role_policy   = data.aws_iam_policy_document.ecs_tasks_trust.json
  max_session_duration = 7200

  tags = merge(var.tags, { Component = "iam-role" })
}

resource "aws_iam_role_policy" "task_logs" {
  name = "write-logs"
  role = aws_iam_role.task.id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "${local.log_group_arn}:*"
      },
    ]
  })
}

resource "aws_iam_role_policy_attachment" "task_ecs" {
  role       = aws_iam_role.task.name
  policy_arn = aws_iam_policy.ecs_operate.arn
}
