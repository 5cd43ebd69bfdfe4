# The API: api/lambda.ts, bundled as dist/lambda/api.zip (index.mjs, model.json and the SQL files
# in ./sql), deployed by modules/demand-insights-lambda, behind an API Gateway HTTP API that lets
# only SigV4-signed callers in by default (api_authorization_type). One route, ANY /demand-insights/{proxy+}, sends every
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
  description = "Who may call the API: AWS_IAM (default: SigV4-signed callers with execute-api:Invoke on it), JWT (tokens of api_jwt_issuer for api_jwt_audience, e.g. a browser app behind Cognito) or NONE (anyone on the internet; only by explicit choice, and the plan warns)."
  type        = string
  default     = "AWS_IAM"

  validation {
    condition     = contains(["AWS_IAM", "JWT", "NONE"], var.api_authorization_type)
    error_message = "api_authorization_type must be AWS_IAM, JWT or NONE."
  }
}

variable "api_jwt_issuer" {
  description = "JWT authorizer: the issuer URL (https://cognito-idp.<region>.amazonaws.com/<pool id>, or another OIDC provider's); API Gateway reads its keys from <issuer>/.well-known/openid-configuration."
  type        = string
  default     = null

  validation {
    condition     = var.api_jwt_issuer == null || can(regex("^https://[^\\s]+$", var.api_jwt_issuer))
    error_message = "api_jwt_issuer must be an https:// URL."
  }
}

variable "api_jwt_audience" {
  description = "JWT authorizer: accepted audiences (aud, or client_id of Cognito access tokens): at least one when api_authorization_type = JWT."
  type        = list(string)
  default     = []
}

variable "api_jwt_scopes" {
  description = "JWT authorizer: scopes a token must carry one of (empty: any valid token)."
  type        = list(string)
  default     = []
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
# Lambda: the module with the old module's interface (modules/demand-insights-lambda), which any
# caller of the old module can switch to by changing `source`.

module "api" {
  source = "./modules/demand-insights-lambda"

  function_name             = "${local.prefix}-api"
  lambda_zip_path           = "${local.lambda_artifacts_dir}/api.zip"
  athena_database           = aws_glue_catalog_database.lake.name
  athena_output_location    = "s3://${aws_s3_bucket.lake.bucket}/athena-results/"
  data_bucket_prefix        = local.prefix
  aws_region                = local.region
  log_level                 = var.log_level
  log_retention_days        = var.log_retention_days
  api_gateway_execution_arn = aws_apigatewayv2_api.api.execution_arn

  athena_workgroup               = aws_athena_workgroup.lake.name
  lake_bucket_name               = aws_s3_bucket.lake.bucket
  state_table_name               = aws_dynamodb_table.state.name
  memory_size                    = var.api_memory_mb
  timeout                        = var.api_timeout_seconds
  reserved_concurrent_executions = var.api_reserved_concurrency
  kms_key_arn                    = local.kms_key_arn
  tracing_mode                   = var.tracing_mode

  # api/lambda.ts, ApiEnvSchema (the module sets ATHENA_*, LOG_LEVEL and STATE_TABLE).
  environment = {
    MODEL_PATH            = "./model.json"
    MODEL_URI             = local.model_store_uri
    MODEL_REFRESH_SECONDS = tostring(var.model_refresh_seconds)
    LAKE_SQL_DIR          = "./sql"
    CORS_ALLOWED_ORIGINS  = join(",", var.api_cors_allowed_origins)
    SCORE_CLOCK           = var.score_clock
    NODE_OPTIONS          = "--enable-source-maps"
  }
}

# Deployments made before the module keep their function, role and log group.
moved {
  from = aws_lambda_function.api
  to   = module.api.aws_lambda_function.this
}

moved {
  from = aws_iam_role.api
  to   = module.api.aws_iam_role.this
}

moved {
  from = aws_iam_role_policy.api
  to   = module.api.aws_iam_role_policy.this
}

moved {
  from = aws_cloudwatch_log_group.api
  to   = module.api.aws_cloudwatch_log_group.this
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
  integration_uri        = module.api.invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = 29000
}

resource "aws_apigatewayv2_authorizer" "jwt" {
  count = var.api_authorization_type == "JWT" ? 1 : 0

  api_id           = aws_apigatewayv2_api.api.id
  name             = "${local.prefix}-jwt"
  authorizer_type  = "JWT"
  identity_sources = ["$request.header.Authorization"]

  jwt_configuration {
    issuer   = var.api_jwt_issuer
    audience = var.api_jwt_audience
  }

  lifecycle {
    precondition {
      condition     = var.api_jwt_issuer != null && length(var.api_jwt_audience) > 0
      error_message = "api_authorization_type = JWT needs api_jwt_issuer and at least one api_jwt_audience."
    }
  }
}

resource "aws_apigatewayv2_route" "api" {
  api_id               = aws_apigatewayv2_api.api.id
  route_key            = "ANY /demand-insights/{proxy+}"
  target               = "integrations/${aws_apigatewayv2_integration.api.id}"
  authorization_type   = var.api_authorization_type
  authorizer_id        = var.api_authorization_type == "JWT" ? aws_apigatewayv2_authorizer.jwt[0].id : null
  authorization_scopes = var.api_authorization_type == "JWT" && length(var.api_jwt_scopes) > 0 ? var.api_jwt_scopes : null
}

# Browsers send CORS preflights without credentials, so a closed API needs an open OPTIONS
# route for them, to the same handler, which answers preflights itself (api/http/cors.ts) and
# reads no data for them. Only when browser origins are allowed at all.
resource "aws_apigatewayv2_route" "preflight" {
  #checkov:skip=CKV_AWS_309:CORS preflights carry no credentials by the Fetch standard; the handler answers OPTIONS from its CORS settings without reading data.
  count = var.api_authorization_type != "NONE" && length(var.api_cors_allowed_origins) > 0 ? 1 : 0

  api_id             = aws_apigatewayv2_api.api.id
  route_key          = "OPTIONS /demand-insights/{proxy+}"
  target             = "integrations/${aws_apigatewayv2_integration.api.id}"
  authorization_type = "NONE"
}

# `terraform plan` warns (without failing) whenever the API is left open to anyone.
check "api_authorization" {
  assert {
    condition     = var.api_authorization_type != "NONE"
    error_message = "WARNING: api_authorization_type = NONE: every customer's CLV and churn score is readable by anyone who finds the URL. Use AWS_IAM (default) or JWT unless this is deliberate."
  }
}

resource "aws_cloudwatch_log_group" "api_access" {
  name              = "/aws/apigateway/${local.prefix}-api"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn
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

output "api_url" {
  description = "Base URL of the API: <api_url>/demand-insights/segments, ..., <api_url>/demand-insights/openapi.json."
  value       = aws_apigatewayv2_stage.api.invoke_url
}

output "api_function_name" {
  value = module.api.function_name
}

output "api_authorization_type" {
  description = "How callers authenticate: AWS_IAM (sign with SigV4, service execute-api), JWT (Authorization: Bearer <token>) or NONE (open)."
  value       = var.api_authorization_type
}

output "api_invoke_policy_arn" {
  description = "IAM policy allowing execute-api:Invoke on the API's routes: attach it to callers when api_authorization_type = AWS_IAM."
  value       = aws_iam_policy.api_invoke.arn
}

# Callers of an AWS_IAM API need execute-api:Invoke on it: attach this policy to them.
data "aws_iam_policy_document" "api_invoke" {
  statement {
    sid       = "InvokeApi"
    actions   = ["execute-api:Invoke"]
    resources = ["${aws_apigatewayv2_api.api.execution_arn}/$default/*/demand-insights/*"]
  }
}

resource "aws_iam_policy" "api_invoke" {
  name        = "${local.prefix}-api-invoke"
  description = "Call the Demand Insights API (${aws_apigatewayv2_api.api.name}) with SigV4."
  policy      = data.aws_iam_policy_document.api_invoke.json
}
