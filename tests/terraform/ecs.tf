# ECS: a managed cluster, a task definition (health check, port mapping, awslogs) and a service running it.
#
# `berth up` registers its own machine as a container instance of the cluster `default` (as an EC2 instance's ECS
# agent joins the cluster its ECS_CLUSTER names, outside Terraform), so the service runs there and the
# configuration only reads that cluster (data source). The managed cluster `aws_ecs_cluster.main` is the one other
# machines would join with `berth agent --cluster <name>`; nothing joins it here, so destroying it needs no
# draining first.

resource "aws_ecs_cluster" "main" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  tags = merge(var.tags, { Component = "cluster" })
}

data "aws_ecs_cluster" "capacity" {
  cluster_name = var.service_cluster
}

resource "aws_ecs_task_definition" "app" {
  family                   = var.name
  requires_compatibilities = ["EC2"]
  network_mode             = "bridge"

  container_definitions = jsonencode([
    {
      name      = "app"
      image     = var.image
      essential = true
      memory    = 32
      # Prints a line (for the log group), then sleeps; exits 0 at once on SIGTERM so rollouts are quick.
      command     = ["sh", "-c", "echo berth-tf started; trap 'exit 0' TERM; sleep 3600 & wait"]
      stopTimeout = 2

      portMappings = [
        {
          containerPort = 8080
          hostPort      = 0
          protocol      = "tcp"
        }
      ]

      healthCheck = {
        command     = ["CMD-SHELL", "true"]
        interval    = 5
        timeout     = 2
        retries     = 3
        startPeriod = 0
      }

      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.app.name
          awslogs-region        = var.region
          awslogs-stream-prefix = "app"
        }
      }
    }
  ])

  tags = merge(var.tags, { Component = "task-definition" })
}

resource "aws_ecs_service" "app" {
  name            = var.name
  cluster         = data.aws_ecs_cluster.capacity.arn
  task_definition = aws_ecs_task_definition.app.arn
  desired_count   = var.desired_count
  launch_type     = "EC2"

  deployment_minimum_healthy_percent = 50
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  ordered_placement_strategy {
    type  = "spread"
    field = "attribute:ecs.availability-zone"
  }

  ordered_placement_strategy {
    type  = "binpack"
    field = "memory"
  }

  # Apply returns once the service is stable (one deployment, all desired tasks running).
  wait_for_steady_state = true

  tags = merge(var.tags, { Component = "service" })

  timeouts {
    create = "3m"
    update = "3m"
    delete = "3m"
  }
}
