terraform {
  required_version = ">= 1.5.0"

  required_providers {
    # Only the AWS provider: the Lambda zips come from `demand-insights bundle`, not archive_file.
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.31" # 5.31 added aws_lambda_function.logging_config
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ Project = "demand-insights", ManagedBy = "terraform" }, var.tags)
  }
}
