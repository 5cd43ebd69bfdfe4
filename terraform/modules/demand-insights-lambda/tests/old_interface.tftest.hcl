# `terraform test` with a mocked AWS provider: the old module's call plans, with the old
# environment, and the old 300 s timeout is refused. Run by test/unit/terraform.test.ts where a
# terraform binary and a provider mirror exist (lambda_zip_path: any existing file).

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  athena_output_location    = "s3://ecommerce-athena-results/"
  api_gateway_execution_arn = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234"
}

run "old_call" {
  command = plan

  assert {
    condition     = aws_lambda_function.this.function_name == "demand-insights-engine" && aws_lambda_function.this.timeout == 28
    error_message = "The old defaults name the function; the timeout stays under API Gateway's."
  }
  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables["ATHENA_DATABASE"] == "demand_insights_db" &&
      aws_lambda_function.this.environment[0].variables["ATHENA_OUTPUT_LOCATION"] == "s3://ecommerce-athena-results/" &&
      aws_lambda_function.this.environment[0].variables["LOG_LEVEL"] == "INFO" &&
      !contains(keys(aws_lambda_function.this.environment[0].variables), "STATE_TABLE") &&
      !contains(keys(aws_lambda_function.this.environment[0].variables), "AWS_REGION")
    )
    error_message = "The function reads the old variables (AWS_REGION is Lambda's own); without a table, no STATE_TABLE."
  }
  assert {
    condition     = aws_cloudwatch_log_group.this.retention_in_days == 7 && aws_lambda_function.this.tracing_config[0].mode == "Active"
    error_message = "Old retention default, X-Ray on."
  }
  assert {
    condition     = aws_lambda_permission.api_gateway.source_arn == "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/*/*"
    error_message = "API Gateway may invoke the function."
  }
}

run "old_warning_level" {
  command = plan

  variables {
    log_level        = "WARNING"
    state_table_name = "customers"
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["LOG_LEVEL"] == "WARN" && aws_lambda_function.this.environment[0].variables["STATE_TABLE"] == "customers"
    error_message = "WARNING is read as WARN; a table given becomes STATE_TABLE."
  }
}

run "refuses_the_old_300_seconds" {
  command = plan

  variables {
    timeout = 300
  }

  expect_failures = [var.timeout]
}
