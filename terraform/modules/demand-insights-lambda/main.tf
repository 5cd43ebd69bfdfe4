# The Demand Insights API Lambda (api/lambda.ts, bundled as api.zip), with the old module's
# interface: its role, log group and API Gateway permission. See README.md.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id

  # s3://bucket/prefix/ → bucket, prefix ("" at the bucket's root).
  results_bucket = regex("^s3://([^/]+)", var.athena_output_location)[0]
  results_prefix = trimsuffix(trimprefix(replace(var.athena_output_location, "s3://${local.results_bucket}", ""), "/"), "/")
  results_keys   = local.results_prefix == "" ? "*" : "${local.results_prefix}/*"

  # What the API's SQL reads (api/sql/*.sql): the curated tables, never the raw orders/.
  data_buckets = var.lake_bucket_name != null ? ["arn:${local.partition}:s3:::${var.lake_bucket_name}"] : ["arn:${local.partition}:s3:::${var.data_bucket_prefix}-*"]

  # The old module documented WARNING; Powertools (and ApiEnvSchema) say WARN.
  log_level = var.log_level == "WARNING" ? "WARN" : var.log_level

  # api/lambda.ts, ApiEnvSchema; the caller's `environment` adds to (and may override) these.
  base_environment = {
    ATHENA_DATABASE         = var.athena_database
    ATHENA_OUTPUT_LOCATION  = var.athena_output_location
    ATHENA_WORKGROUP        = var.athena_workgroup
    LOG_LEVEL               = local.log_level
    POWERTOOLS_SERVICE_NAME = "demand-insights-api"
  }
  environment = merge(local.base_environment, var.state_table_name == null ? {} : { STATE_TABLE = var.state_table_name }, var.environment)
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:The default (7 days) is the old module's interface; the root module passes log_retention_days (365 by default).
  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = var.function_name
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

# Exactly the calls api/lambda.ts makes: Athena in its workgroup, the Glue catalog of its
# database, the curated lake and its own results prefix, the state table read only (no Scan).
data "aws_iam_policy_document" "this" {
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"] # X-Ray has no resource-level permissions
  }

  statement {
    sid       = "RunQueries"
    actions   = ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults", "athena:StopQueryExecution", "athena:GetWorkGroup"]
    resources = ["arn:${local.partition}:athena:${var.aws_region}:${local.account_id}:workgroup/${var.athena_workgroup}"]
  }

  statement {
    sid     = "ReadCatalog"
    actions = ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartition", "glue:GetPartitions"]
    resources = [
      "arn:${local.partition}:glue:${var.aws_region}:${local.account_id}:catalog",
      "arn:${local.partition}:glue:${var.aws_region}:${local.account_id}:database/${var.athena_database}",
      "arn:${local.partition}:glue:${var.aws_region}:${local.account_id}:table/${var.athena_database}/*",
    ]
  }

  statement {
    sid       = "ReadCurated"
    actions   = ["s3:GetObject"]
    resources = [for bucket in local.data_buckets : "${bucket}/curated/*"]
  }

  statement {
    sid       = "ListCurated"
    actions   = ["s3:ListBucket"]
    resources = local.data_buckets
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["curated/*"]
    }
  }

  statement {
    sid       = "QueryResults"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
    resources = ["arn:${local.partition}:s3:::${local.results_bucket}/${local.results_keys}"]
  }

  statement {
    sid       = "ListResults"
    actions   = ["s3:ListBucket"]
    resources = ["arn:${local.partition}:s3:::${local.results_bucket}"]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [local.results_keys]
    }
  }

  statement {
    sid       = "LocateBuckets"
    actions   = ["s3:GetBucketLocation"]
    resources = distinct(concat(["arn:${local.partition}:s3:::${local.results_bucket}"], local.data_buckets))
  }

  # Customers by id (BatchGetItem) and the watermark (GetItem). No Scan: listings are one Query
  # page of the list-index, the at-risk list one of the sparse risk-index (api/services/customerScores.ts).
  dynamic "statement" {
    for_each = var.state_table_name == null ? [] : [var.state_table_name]
    content {
      sid       = "ReadState"
      actions   = ["dynamodb:BatchGetItem", "dynamodb:GetItem"]
      resources = ["arn:${local.partition}:dynamodb:${var.aws_region}:${local.account_id}:table/${statement.value}"]
    }
  }

  dynamic "statement" {
    for_each = var.state_table_name == null ? [] : [var.state_table_name]
    content {
      sid     = "PageState"
      actions = ["dynamodb:Query"]
      resources = [
        "arn:${local.partition}:dynamodb:${var.aws_region}:${local.account_id}:table/${statement.value}/index/list-index",
        "arn:${local.partition}:dynamodb:${var.aws_region}:${local.account_id}:table/${statement.value}/index/risk-index",
      ]
    }
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid       = "Decrypt"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "api"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously by API Gateway, which returns the error to the caller; a DLQ only receives asynchronous invocations.
  #checkov:skip=CKV_AWS_117:Calls only AWS APIs (Athena, Glue, S3, DynamoDB) over TLS with IAM; a VPC would add NAT or endpoints and cold-start time for no isolation gained.
  #checkov:skip=CKV_AWS_272:The zip is built and hashed by `demand-insights bundle` in this repository's pipeline; source_code_hash pins what is deployed. Code signing needs an AWS Signer profile the project does not run.
  function_name = var.function_name
  description   = "Demand Insights API: segments, forecast, price elasticity and optimization, CLV, churn, at-risk customers."
  role          = aws_iam_role.this.arn

  filename         = var.lambda_zip_path
  source_code_hash = filebase64sha256(var.lambda_zip_path)
  handler          = "index.handler"
  runtime          = "nodejs22.x"
  architectures    = ["arm64"] # the bundle is pure JavaScript (DuckDB is local-only)

  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrent_executions
  kms_key_arn                    = var.kms_key_arn

  # api/lambda.ts, ApiEnvSchema. AWS_REGION is Lambda's own (reserved): it is the region the function runs in.
  environment {
    variables = local.environment
  }

  tracing_config {
    mode = var.tracing_mode
  }

  logging_config {
    log_format = "Text" # Powertools writes JSON lines itself
    log_group  = aws_cloudwatch_log_group.this.name
  }

  tags       = var.tags
  depends_on = [aws_iam_role_policy.this]
}

resource "aws_lambda_permission" "api_gateway" {
  statement_id  = "AllowApiGatewayInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${var.api_gateway_execution_arn}/*/*"
}
