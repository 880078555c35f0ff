# A Fargate service deployed with Terraform's AWS provider against ecsd,
# waiting for a steady state as real deployment pipelines do. The Go test
# internal/e2e/terraform_test.go applies it, checks that a second plan
# shows no drift, rolls a new revision and destroys everything.

terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
  }
}

variable "endpoint" {
  type = string
}

variable "image" {
  type    = string
  default = "public.ecr.aws/nginx/nginx:1.27"
}

variable "desired_count" {
  type    = number
  default = 2
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "AKIDEXAMPLE"
  secret_key                  = "not-checked"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {
    ecs = var.endpoint
  }
}

resource "aws_ecs_cluster" "main" {
  name = "tf-cluster"
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
  tags = {
    team = "platform"
  }
}

resource "aws_ecs_task_definition" "web" {
  family                   = "tf-web"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = "256"
  memory                   = "512"
  container_definitions = jsonencode([
    {
      name         = "web"
      image        = var.image
      essential    = true
      portMappings = [{ containerPort = 80, protocol = "tcp" }]
    }
  ])
}

resource "aws_ecs_service" "web" {
  name                  = "tf-web"
  cluster               = aws_ecs_cluster.main.id
  task_definition       = aws_ecs_task_definition.web.arn
  desired_count         = var.desired_count
  launch_type           = "FARGATE"
  wait_for_steady_state = true
  propagate_tags        = "SERVICE"

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets         = ["subnet-0123456789abcdef0"]
    security_groups = ["sg-0123456789abcdef0"]
  }

  tags = {
    app = "web"
  }
}

output "service_arn" {
  value = aws_ecs_service.web.id
}

output "task_definition_arn" {
  value = aws_ecs_task_definition.web.arn
}
