# A caller written for the old module (seed README, "Usage"), unchanged but for `source`: the
# old inputs are all the new module needs. It creates the API Lambda alone, over an existing
# lake; without state_table_name it scores every customer from the lake (api/lambda.ts).
#
#   npx demand-insights bundle          # writes dist/lambda/api.zip
#   terraform init && terraform plan -var api_gateway_execution_arn=arn:aws:execute-api:us-east-1:123456789012:abcdef1234

terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.31"
    }
  }
}

provider "aws" {
  region = "us-east-1"
}

variable "api_gateway_execution_arn" {
  description = "Execution ARN of the API Gateway that invokes the function (module.api_gateway.execution_arn in the seed's stack)."
  type        = string
}

module "demand_insights_lambda" {
  source = "../../modules/demand-insights-lambda"

  function_name             = "demand-insights-engine"
  lambda_zip_path           = "${path.root}/../../../dist/lambda/api.zip"
  athena_database           = "demand_insights_db"
  athena_output_location    = "s3://ecommerce-athena-results/"
  data_bucket_prefix        = "ecommerce-data"
  api_gateway_execution_arn = var.api_gateway_execution_arn
  aws_region                = "us-east-1"

  tags = {
    Environment = "production"
    Project     = "ecommerce-ai-platform"
    System      = "demand-insights-engine"
  }
}

output "function_arn" {
  value = module.demand_insights_lambda.function_arn
}

output "invoke_arn" {
  value = module.demand_insights_lambda.invoke_arn
}
