# `terraform test` with a mocked AWS provider (no account, no credentials): plans the root module
# and checks what the API lets in. Run by test/unit/terraform.test.ts where a terraform binary and
# a provider mirror exist; by hand: terraform init && terraform test -var lambda_artifacts_dir=DIR
# (DIR holding consumer.zip, sweep.zip and api.zip, e.g. from `npx demand-insights bundle`).

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

run "closed_by_default" {
  command = plan

  assert {
    condition     = aws_apigatewayv2_route.api.authorization_type == "AWS_IAM"
    error_message = "The API route must require SigV4 by default."
  }
  assert {
    condition     = length(aws_apigatewayv2_authorizer.jwt) == 0 && length(aws_apigatewayv2_route.preflight) == 0
    error_message = "No authorizer and no open preflight route by default."
  }
  assert {
    condition     = module.api.function_name == "demand-insights-api"
    error_message = "The API Lambda comes from the module."
  }
}

run "jwt_authorizer" {
  command = plan

  variables {
    api_authorization_type   = "JWT"
    api_jwt_issuer           = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_example"
    api_jwt_audience         = ["app-client-id"]
    api_cors_allowed_origins = ["https://app.example.com"]
  }

  assert {
    condition     = aws_apigatewayv2_route.api.authorization_type == "JWT" && length(aws_apigatewayv2_authorizer.jwt) == 1
    error_message = "JWT: the route uses the JWT authorizer."
  }
  assert {
    condition     = aws_apigatewayv2_authorizer.jwt[0].jwt_configuration[0].issuer == var.api_jwt_issuer
    error_message = "JWT: the authorizer trusts the issuer given."
  }
  assert {
    condition     = aws_apigatewayv2_route.preflight[0].route_key == "OPTIONS /demand-insights/{proxy+}"
    error_message = "JWT with browser origins: preflights have their own open route."
  }
}

run "jwt_needs_issuer_and_audience" {
  command = plan

  variables {
    api_authorization_type = "JWT"
  }

  expect_failures = [aws_apigatewayv2_authorizer.jwt]
}

run "open_only_with_a_warning" {
  command = plan

  variables {
    api_authorization_type = "NONE"
  }

  # The check block's assertion fails as a warning: the plan succeeds and says so.
  expect_failures = [check.api_authorization]

  assert {
    condition     = aws_apigatewayv2_route.api.authorization_type == "NONE"
    error_message = "NONE is honoured when chosen."
  }
}

run "refuses_an_unknown_authorization" {
  command = plan

  variables {
    api_authorization_type = "OPEN"
  }

  expect_failures = [var.api_authorization_type]
}
