# The lake keeps itself: lake/lambda/curation.ts, bundled as dist/lambda/curation.zip, run by
# EventBridge Scheduler (hourly by default) with `{}`, rebuilds every curated day of the look-back
# window from orders_raw (deduplicated by type and order id, within the event-time bounds) with a
# CTAS into s3://<lake>/curated/versions/orders/<run>/date=D/, then points the day's Glue partition
# at it (ALTER TABLE ... SET LOCATION, atomic per partition), then rebuilds products the same way.
# Idempotent: a second or concurrent run swaps in the same rows. A backfill or replay older than
# the window: invoke it with {"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"} (see README "The lake").

resource "aws_cloudwatch_log_group" "curation" {
  name              = "/aws/lambda/${local.prefix}-curation"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn
}

resource "aws_lambda_function" "curation" {
  #checkov:skip=CKV_AWS_116:Invoked by the scheduler, whose retry policy retries it; a failed run is redone in full by the next hourly run (it is idempotent), and its errors alarm.
  #checkov:skip=CKV_AWS_117:Calls only AWS APIs (Athena, Glue, S3) over TLS with IAM; a VPC adds NAT or endpoints and cold-start time and isolates nothing here.
  #checkov:skip=CKV_AWS_272:The zip is built reproducibly by `demand-insights bundle` in this repository's pipeline and pinned by source_code_hash; code signing needs an AWS Signer profile the project does not run.
  #checkov:skip=CKV_AWS_115:One run at a time is what the schedule starts; concurrent runs are safe (idempotent) and a reserved limit would only take capacity from the account.
  function_name = "${local.prefix}-curation"
  description   = "Rebuilds the curated lake's recent days from the raw orders and swaps them in."
  role          = aws_iam_role.curation.arn

  filename         = "${local.lambda_artifacts_dir}/curation.zip"
  source_code_hash = filebase64sha256("${local.lambda_artifacts_dir}/curation.zip")
  handler          = "index.handler"
  runtime          = "nodejs22.x"
  architectures    = ["arm64"]

  memory_size = 256 # it only waits on Athena
  timeout     = var.curation_timeout_seconds

  kms_key_arn = local.kms_key_arn

  environment {
    variables = {
      ATHENA_DATABASE      = aws_glue_catalog_database.lake.name
      ATHENA_WORKGROUP     = aws_athena_workgroup.lake.name
      CURATED_ROOT         = local.curated_root
      LOOKBACK_DAYS        = tostring(var.curation_lookback_days)
      GRACE_MINUTES        = tostring(var.curation_grace_minutes)
      EARLIEST_EVENT_TIME  = var.earliest_event_time
      MAX_EVENT_SKEW_HOURS = tostring(var.max_event_skew_hours)
      POWERTOOLS_LOG_LEVEL = var.log_level
      NODE_OPTIONS         = "--enable-source-maps"
    }
  }

  tracing_config {
    mode = var.tracing_mode
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.curation.name
  }

  depends_on = [aws_iam_role_policy.curation]
}

resource "aws_iam_role" "curation" {
  name               = "${local.prefix}-curation"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

data "aws_iam_policy_document" "curation" {
  source_policy_documents = [data.aws_iam_policy_document.kms_use.json, data.aws_iam_policy_document.tracing.json]

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.curation.arn}:*"]
  }

  statement {
    sid       = "RunStatements"
    actions   = ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults", "athena:StopQueryExecution", "athena:GetWorkGroup"]
    resources = [aws_athena_workgroup.lake.arn]
  }

  # CTAS creates and drops a staging table; the swaps update partitions and the products table.
  statement {
    sid = "Catalog"
    actions = [
      "glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:CreateTable", "glue:DeleteTable", "glue:UpdateTable",
      "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition", "glue:CreatePartition", "glue:BatchCreatePartition",
      "glue:UpdatePartition", "glue:DeletePartition", "glue:BatchDeletePartition",
    ]
    resources = [
      "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog",
      aws_glue_catalog_database.lake.arn,
      "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${aws_glue_catalog_database.lake.name}/*",
    ]
  }

  statement {
    sid       = "ReadLake"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.lake.arn}/orders/*", "${aws_s3_bucket.lake.arn}/curated/*"]
  }

  # Athena lists the tables' prefixes with the function's credentials; the clean-up lists curated/versions/.
  statement {
    sid       = "ListLake"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.lake.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["orders/*", "curated/*", "athena-results/*"]
    }
  }

  statement {
    sid       = "LocateLake"
    actions   = ["s3:GetBucketLocation"]
    resources = [aws_s3_bucket.lake.arn]
  }

  # The clean-up deletes superseded rebuilds (older than the grace period, pointed at by no
  # partition): only under curated/versions/, never raw orders or a live table's location root.
  statement {
    sid       = "DeleteSupersededRebuilds"
    actions   = ["s3:DeleteObject"]
    resources = ["${aws_s3_bucket.lake.arn}/curated/versions/*"]
  }

  # Rebuilds are written only under curated/versions/: nothing a live partition points at is overwritten.
  statement {
    sid       = "WriteRebuildsAndResults"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
    resources = ["${aws_s3_bucket.lake.arn}/curated/versions/*", "${aws_s3_bucket.lake.arn}/athena-results/*"]
  }
}

resource "aws_iam_role_policy" "curation" {
  name   = "curation"
  role   = aws_iam_role.curation.id
  policy = data.aws_iam_policy_document.curation.json
}

resource "aws_iam_role" "curation_scheduler" {
  name               = "${local.prefix}-curation-scheduler"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
}

data "aws_iam_policy_document" "curation_scheduler" {
  statement {
    sid       = "InvokeCuration"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.curation.arn, "${aws_lambda_function.curation.arn}:*"]
  }
}

resource "aws_iam_role_policy" "curation_scheduler" {
  name   = "invoke-curation"
  role   = aws_iam_role.curation_scheduler.id
  policy = data.aws_iam_policy_document.curation_scheduler.json
}

resource "aws_scheduler_schedule" "curation" {
  name                = "${local.prefix}-curation"
  description         = "Rebuilds the curated lake's look-back window."
  schedule_expression = var.curation_schedule
  kms_key_arn         = local.kms_key_arn

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.curation.arn
    role_arn = aws_iam_role.curation_scheduler.arn
    input    = jsonencode({})

    # A run is idempotent, so a retry is harmless; one older than the next run is pointless.
    retry_policy {
      maximum_retry_attempts       = 2
      maximum_event_age_in_seconds = 1800
    }
  }
}

# A day without curated rows while the stream had traffic: every run reports the lines of the last
# whole UTC day (LastCompleteDayRows); the alarm fires when, over a day, Kinesis took records but
# no run reported a line for that day (no run at all counts as none).
resource "aws_cloudwatch_metric_alarm" "lake_day_not_curated" {
  alarm_name          = "${local.prefix}-lake-day-not-curated"
  alarm_description   = "The order stream had traffic, but the last whole day has no curated order lines (curation failing or not running)."
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  metric_query {
    id          = "missing"
    expression  = "IF(FILL(incoming, 0) > 0 AND FILL(curated, 0) == 0, 1, 0)"
    label       = "Traffic without a curated day"
    return_data = true
  }

  metric_query {
    id = "incoming"
    metric {
      namespace   = "AWS/Kinesis"
      metric_name = "IncomingRecords"
      dimensions  = { StreamName = aws_kinesis_stream.orders.name }
      period      = 86400
      stat        = "Sum"
    }
  }

  metric_query {
    id = "curated"
    metric {
      namespace   = "DemandInsights"
      metric_name = "LastCompleteDayRows"
      dimensions  = { service = "curation" }
      period      = 86400
      stat        = "Maximum"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "curation_errors" {
  alarm_name          = "${local.prefix}-curation-errors"
  alarm_description   = "Curation runs failed (Athena down, a statement failed): the curated lake is not being refreshed."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.curation.function_name }
  statistic           = "Sum"
  period              = 3600
  evaluation_periods  = 3
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}
