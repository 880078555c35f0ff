# Resources made outside Terraform (with the SDK, by the Go test
# internal/e2e/terraform_test.go TestTerraformImport) and brought under
# Terraform with `terraform import`, using the README's provider block
# (skip_requesting_account_id = true: the provider builds ECS ARNs with an
# empty account field, which ecsd takes as the caller's).

variable "endpoint" {
  type = string
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  endpoints { ecs = var.endpoint }
}

resource "aws_ecs_cluster" "imported" {
  name = "tf-import"
}

resource "aws_ecs_task_definition" "imported" {
  family                = "tf-import"
  container_definitions = jsonencode([{ name = "app", image = "nginx", memory = 128, essential = true }])
}

resource "aws_ecs_service" "imported" {
  name            = "tf-import"
  cluster         = aws_ecs_cluster.imported.id
  task_definition = aws_ecs_task_definition.imported.arn
  desired_count   = 1
}
