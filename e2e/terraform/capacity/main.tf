# An EC2 service on an Auto Scaling group capacity provider with managed
# scaling, deployed with Terraform's AWS provider against ecsd and waiting
# for a steady state. ecsd has no Auto Scaling API: the group is
# simulated, sized by the ecsd:asg-* tags on the capacity provider, and
# managed scaling launches its instances (0 to 3 here: distinctInstance
# puts each of the 3 tasks on its own) as the service's
# tasks wait in PROVISIONING. The service also carries placement
# strategies and constraints. internal/e2e/terraform_test.go applies it,
# checks that a second plan shows no drift, scales, and destroys it all.

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

variable "desired_count" {
  type    = number
  default = 3
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
  name = "tf-ec2"
  tags = {
    # Only the capacity provider's instances: no --sim-instances here.
    "ecsd:sim-instances" = "0"
  }
}

resource "aws_ecs_capacity_provider" "asg" {
  name = "tf-asg"

  auto_scaling_group_provider {
    auto_scaling_group_arn         = "arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:5a4c4f6e-0000-4000-8000-000000000001:autoScalingGroupName/tf-asg"
    managed_termination_protection = "ENABLED"
    managed_draining               = "ENABLED"

    managed_scaling {
      status                    = "ENABLED"
      target_capacity           = 100
      minimum_scaling_step_size = 1
      maximum_scaling_step_size = 4
      instance_warmup_period    = 0
    }
  }

  tags = {
    "ecsd:asg-max-size" = "4"
  }
}

resource "aws_ecs_cluster_capacity_providers" "main" {
  cluster_name       = aws_ecs_cluster.main.name
  capacity_providers = [aws_ecs_capacity_provider.asg.name]

  default_capacity_provider_strategy {
    capacity_provider = aws_ecs_capacity_provider.asg.name
    base              = 1
    weight            = 100
  }
}

resource "aws_ecs_task_definition" "web" {
  family                   = "tf-ec2-web"
  requires_compatibilities = ["EC2"]
  network_mode             = "bridge"
  container_definitions = jsonencode([
    {
      name         = "web"
      image        = "public.ecr.aws/nginx/nginx:1.27"
      essential    = true
      cpu          = 1024
      memory       = 512
      portMappings = [{ containerPort = 80, hostPort = 0, protocol = "tcp" }]
    }
  ])
}

resource "aws_ecs_service" "web" {
  name                  = "tf-ec2-web"
  cluster               = aws_ecs_cluster.main.id
  task_definition       = aws_ecs_task_definition.web.arn
  desired_count         = var.desired_count
  wait_for_steady_state = true

  capacity_provider_strategy {
    capacity_provider = aws_ecs_capacity_provider.asg.name
    base              = 1
    weight            = 100
  }

  # Spread over zones, then pack by memory; each task on its own
  # instance, and only on c5 instances (ecsd's simulated group instances
  # report ecs.instance-type c5.large).
  ordered_placement_strategy {
    type  = "spread"
    field = "attribute:ecs.availability-zone"
  }

  ordered_placement_strategy {
    type  = "binpack"
    field = "memory"
  }

  placement_constraints {
    type       = "memberOf"
    expression = "attribute:ecs.instance-type =~ c5.*"
  }

  placement_constraints {
    type = "distinctInstance"
  }

  # The strategy may only name providers the cluster has.
  depends_on = [aws_ecs_cluster_capacity_providers.main]
}

output "capacity_provider_arn" {
  value = aws_ecs_capacity_provider.asg.arn
}
