# The API: api/lambda.ts, bundled as dist/lambda/api.zip (index.mjs, model.json and the SQL files
# in ./sql), behind an API Gateway HTTP API. One route, ANY /demand-insights/{proxy+}, sends every
# request (OPTIONS preflights included: CORS is the Lambda's, configured by api_cors_allowed_origins)
# to the one handler, which routes the seven endpoints and GET /demand-insights/openapi.json.
#
#   client ─► HTTP API ($default stage, throttled, access-logged) ─► API Lambda ─┬─► Athena (lake workgroup) ─► S3 lake
#                                                                                 └─► DynamoDB state table (read only)

# ---------------------------------------------------------------------------------------------
# Settings

variable "api_memory_mb" {
  description = "API Lambda memory (CPU scales with it; K-Means and the lake customers' states are computed in it)."
  type        = number
  default     = 1536
}

variable "api_timeout_seconds" {
  description = "API Lambda timeout: under the HTTP API's 30 s integration limit."
  type        = number
  default     = 28

  validation {
    condition     = var.api_timeout_seconds >= 3 && var.api_timeout_seconds <= 29
    error_message = "api_timeout_seconds must be between 3 and 29 (HTTP APIs give up at 30 s)."
  }
}

variable "api_reserved_concurrency" {
  description = "Reserved concurrency of the API Lambda (-1: unreserved). Each instance keeps its own caches."
  type        = number
  default     = -1
}

variable "api_cors_allowed_origins" {
  description = "Browser origins allowed to call the API (CORS_ALLOWED_ORIGINS): [\"*\"], or exact origins such as \"https://app.example.com\". Empty: no cross-origin access."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for origin in var.api_cors_allowed_origins : origin == "*" || can(regex("^https?://[^/\\s]+$", origin))])
    error_message = "api_cors_allowed_origins: \"*\" or origins of the form scheme://host[:port], without a path."
  }
}

variable "api_authorization_type" {
  description = "Authorization of the API route: NONE (the original API's behaviour) or AWS_IAM (SigV4-signed callers)."
  type        = string
  default     = "NONE"

  validation {
    condition     = contains(["NONE", "AWS_IAM"], var.api_authorization_type)
    error_message = "api_authorization_type must be NONE or AWS_IAM."
  }
}

variable "api_throttling_rate_limit" {
  description = "Steady-state requests per second the API stage accepts."
  type        = number
  default     = 50
}

variable "api_throttling_burst_limit" {
  description = "Burst of requests the API stage accepts."
  type        = number
  default     = 100
}

# ---------------------------------------------------------------------------------------------
# Lambda

resource "aws_cloudwatch_log_group" "api" {
  name              = "/aws/lambda/${local.prefix}-api"
  retention_in_days = var.log_retention_days
}

resource "aws_iam_role" "api" {
  name               = "${local.prefix}-api"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

# The lake through the workgroup (lake.tf's lake_query document), and the state table read only:
# BatchGetItem (named customers), GetItem (the watermark item), Scan (the all-customers listing
# and the at-risk ranking). The API never writes the table.
data "aws_iam_policy_document" "api" {
  source_policy_documents = [data.aws_iam_policy_document.lake_query.json]

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.api.arn}:*"]
  }

  statement {
    sid       = "ReadState"
    actions   = ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Scan"]
    resources = [aws_dynamodb_table.state.arn]
  }
}

resource "aws_iam_role_policy" "api" {
  name   = "api"
  role   = aws_iam_role.api.id
  policy = data.aws_iam_policy_document.api.json
}

resource "aws_lambda_function" "api" {
  function_name = "${local.prefix}-api"
  description   = "Demand Insights API: segments, forecast, price elasticity and optimization, CLV, churn, at-risk customers."
  role          = aws_iam_role.api.arn

  filename         = "${local.lambda_artifacts_dir}/api.zip"
  source_code_hash = filebase64sha256("${local.lambda_artifacts_dir}/api.zip")
  handler          = "index.handler"
  runtime          = "nodejs22.x"
  architectures    = ["arm64"] # the bundle is pure JavaScript (DuckDB is local-only)

  memory_size                    = var.api_memory_mb
  timeout                        = var.api_timeout_seconds
  reserved_concurrent_executions = var.api_reserved_concurrency

  # api/lambda.ts, ApiEnvSchema.
  environment {
    variables = {
      ATHENA_DATABASE        = aws_glue_catalog_database.lake.name
      ATHENA_WORKGROUP       = aws_athena_workgroup.lake.name
      ATHENA_OUTPUT_LOCATION = "s3://${aws_s3_bucket.lake.bucket}/athena-results/"
      STATE_TABLE            = aws_dynamodb_table.state.name
      MODEL_PATH             = "./model.json"
      LAKE_SQL_DIR           = "./sql"
      CORS_ALLOWED_ORIGINS   = join(",", var.api_cors_allowed_origins)
      SCORE_CLOCK            = var.score_clock
      LOG_LEVEL              = var.log_level
      NODE_OPTIONS           = "--enable-source-maps"
    }
  }

  logging_config {
    log_format = "Text" # Powertools writes JSON lines itself
    log_group  = aws_cloudwatch_log_group.api.name
  }

  depends_on = [aws_iam_role_policy.api]
}

# ---------------------------------------------------------------------------------------------
# API Gateway (HTTP API, payload format 2.0)

resource "aws_apigatewayv2_api" "api" {
  name          = "${local.prefix}-api"
  description   = "Demand Insights API (OpenAPI document at GET /demand-insights/openapi.json)."
  protocol_type = "HTTP"
}

resource "aws_apigatewayv2_integration" "api" {
  api_id                 = aws_apigatewayv2_api.api.id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_function.api.invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = 29000
}

resource "aws_apigatewayv2_route" "api" {
  api_id             = aws_apigatewayv2_api.api.id
  route_key          = "ANY /demand-insights/{proxy+}"
  target             = "integrations/${aws_apigatewayv2_integration.api.id}"
  authorization_type = var.api_authorization_type
}

resource "aws_cloudwatch_log_group" "api_access" {
  name              = "/aws/apigateway/${local.prefix}-api"
  retention_in_days = var.log_retention_days
}

resource "aws_apigatewayv2_stage" "api" {
  api_id      = aws_apigatewayv2_api.api.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_rate_limit  = var.api_throttling_rate_limit
    throttling_burst_limit = var.api_throttling_burst_limit
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      ip                 = "$context.identity.sourceIp"
      requestTime        = "$context.requestTime"
      httpMethod         = "$context.httpMethod"
      path               = "$context.path"
      status             = "$context.status"
      responseLength     = "$context.responseLength"
      integrationLatency = "$context.integrationLatency"
      integrationError   = "$context.integrationErrorMessage"
    })
  }
}

resource "aws_lambda_permission" "api" {
  statement_id  = "AllowHttpApiInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.api.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.api.execution_arn}/*/*"
}

output "api_url" {
  description = "Base URL of the API: <api_url>/demand-insights/segments, ..., <api_url>/demand-insights/openapi.json."
  value       = aws_apigatewayv2_stage.api.invoke_url
}

output "api_function_name" {
  value = aws_lambda_function.api.function_name
}
