# Models retrained on a schedule and picked up without a redeploy: trainer/lambda/trainer.ts,
# bundled as dist/lambda/trainer.zip, run weekly by EventBridge Scheduler with `{}`. It UNLOADs the
# lake's order totals as Parquet under s3://<lake>/model-store/training-data/<run>/ (read back,
# then deleted), retrains, compares the candidate with the serving model on a held-out fold
# (churn AUC, CLV Spearman), and publishes s3://<lake>/model-store/models/<version>.json and the
# pointer models/current.json, or refuses (log + ModelsRejected metric). The consumer, the Kafka
# consumer, the sweep and the API read the pointer (MODEL_URI) at most every model_refresh_seconds.
# `{"force": true}` publishes a model even when it is worse. Rollback: README "Models".

locals {
  model_store_prefix = "model-store"
  model_store_uri    = "s3://${aws_s3_bucket.lake.bucket}/${local.model_store_prefix}"
}

# What every scoring function needs to hot-load models: read the artifacts and the pointer, nothing else.
data "aws_iam_policy_document" "read_models" {
  statement {
    sid       = "ReadModels"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.lake.arn}/${local.model_store_prefix}/models/*"]
  }
}

resource "aws_iam_role_policy" "api_read_models" {
  name   = "read-models"
  role   = element(split("/", module.api.role_arn), length(split("/", module.api.role_arn)) - 1)
  policy = data.aws_iam_policy_document.read_models.json
}

resource "aws_cloudwatch_log_group" "trainer" {
  name              = "/aws/lambda/${local.prefix}-trainer"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn
}

resource "aws_lambda_function" "trainer" {
  #checkov:skip=CKV_AWS_116:Invoked by the scheduler, whose retry policy retries it; a failed week is redone in full by the next run, and its errors alarm.
  #checkov:skip=CKV_AWS_117:Calls only AWS APIs (Athena, Glue, S3) over TLS with IAM; a VPC adds NAT or endpoints and cold-start time and isolates nothing here.
  #checkov:skip=CKV_AWS_272:The zip is built reproducibly by `demand-insights bundle` in this repository's pipeline and pinned by source_code_hash; code signing needs an AWS Signer profile the project does not run.
  #checkov:skip=CKV_AWS_115:One run a week is what the schedule starts; a second concurrent run publishes the same model, and a reserved limit would only take capacity from the account.
  function_name = "${local.prefix}-trainer"
  description   = "Retrains the churn/CLV model from the lake weekly and publishes it to the model store unless it is worse."
  role          = aws_iam_role.trainer.arn

  filename         = "${local.lambda_artifacts_dir}/trainer.zip"
  source_code_hash = filebase64sha256("${local.lambda_artifacts_dir}/trainer.zip")
  handler          = "index.handler"
  runtime          = "nodejs22.x"
  architectures    = ["arm64"]

  memory_size = var.trainer_memory_mb
  timeout     = var.trainer_timeout_seconds

  kms_key_arn = local.kms_key_arn

  environment {
    variables = {
      ATHENA_DATABASE        = aws_glue_catalog_database.lake.name
      ATHENA_WORKGROUP       = aws_athena_workgroup.lake.name
      MODEL_URI              = local.model_store_uri
      TRAINING_DAYS          = tostring(var.trainer_training_days)
      HORIZON_DAYS           = tostring(var.trainer_horizon_days)
      TOLERANCE_CHURN_AUC    = tostring(var.trainer_tolerance_churn_auc)
      TOLERANCE_CLV_SPEARMAN = tostring(var.trainer_tolerance_clv_spearman)
      POWERTOOLS_LOG_LEVEL   = var.log_level
      NODE_OPTIONS           = "--enable-source-maps"
    }
  }

  tracing_config {
    mode = var.tracing_mode
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.trainer.name
  }

  depends_on = [aws_iam_role_policy.trainer]
}

resource "aws_iam_role" "trainer" {
  name               = "${local.prefix}-trainer"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

data "aws_iam_policy_document" "trainer" {
  source_policy_documents = [data.aws_iam_policy_document.kms_use.json, data.aws_iam_policy_document.tracing.json]

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.trainer.arn}:*"]
  }

  statement {
    sid       = "RunStatements"
    actions   = ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:StopQueryExecution", "athena:GetWorkGroup"]
    resources = [aws_athena_workgroup.lake.arn]
  }

  statement {
    sid     = "ReadCatalog"
    actions = ["glue:GetDatabase", "glue:GetTable", "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition"]
    resources = [
      "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog",
      aws_glue_catalog_database.lake.arn,
      "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${aws_glue_catalog_database.lake.name}/*",
    ]
  }

  # Athena reads the curated lake as the caller; the trainer reads its models and UNLOAD output.
  statement {
    sid       = "ReadLakeAndModels"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.lake.arn}/curated/*", "${aws_s3_bucket.lake.arn}/${local.model_store_prefix}/*", "${aws_s3_bucket.lake.arn}/athena-results/*"]
  }

  statement {
    sid       = "ListLakeAndModels"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [aws_s3_bucket.lake.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["curated/*", "${local.model_store_prefix}/*", "athena-results/*"]
    }
  }

  # The UNLOAD output and Athena's results are written as the caller; models and the pointer by the trainer.
  statement {
    sid       = "WriteModelsAndTrainingData"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
    resources = ["${aws_s3_bucket.lake.arn}/${local.model_store_prefix}/*", "${aws_s3_bucket.lake.arn}/athena-results/*"]
  }

  # Only a run's own UNLOAD output is deleted once read; published models are never deleted.
  statement {
    sid       = "DeleteTrainingData"
    actions   = ["s3:DeleteObject"]
    resources = ["${aws_s3_bucket.lake.arn}/${local.model_store_prefix}/training-data/*"]
  }
}

resource "aws_iam_role_policy" "trainer" {
  name   = "trainer"
  role   = aws_iam_role.trainer.id
  policy = data.aws_iam_policy_document.trainer.json
}

resource "aws_iam_role" "trainer_scheduler" {
  name               = "${local.prefix}-trainer-scheduler"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
}

data "aws_iam_policy_document" "trainer_scheduler" {
  statement {
    sid       = "InvokeTrainer"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.trainer.arn, "${aws_lambda_function.trainer.arn}:*"]
  }
}

resource "aws_iam_role_policy" "trainer_scheduler" {
  name   = "invoke-trainer"
  role   = aws_iam_role.trainer_scheduler.id
  policy = data.aws_iam_policy_document.trainer_scheduler.json
}

resource "aws_scheduler_schedule" "trainer" {
  name                = "${local.prefix}-trainer"
  description         = "Retrains the churn/CLV model from the lake and publishes it unless it is worse."
  schedule_expression = var.trainer_schedule
  kms_key_arn         = local.kms_key_arn

  flexible_time_window {
    mode                      = "FLEXIBLE"
    maximum_window_in_minutes = 60
  }

  target {
    arn      = aws_lambda_function.trainer.arn
    role_arn = aws_iam_role.trainer_scheduler.arn
    input    = jsonencode({})

    retry_policy {
      maximum_retry_attempts       = 1
      maximum_event_age_in_seconds = 3600
    }
  }
}

# A candidate refused by the publish gate: the serving model stays; someone should look at the data.
resource "aws_cloudwatch_metric_alarm" "model_rejected" {
  alarm_name          = "${local.prefix}-model-rejected"
  alarm_description   = "The weekly retraining produced a model worse than the serving one on the holdout; it was not published."
  namespace           = "DemandInsights"
  metric_name         = "ModelsRejected"
  dimensions          = { service = "trainer" }
  statistic           = "Sum"
  period              = 86400
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "trainer_errors" {
  alarm_name          = "${local.prefix}-trainer-errors"
  alarm_description   = "The trainer failed (Athena or S3 down, too little data): the serving model is not being refreshed."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.trainer.function_name }
  statistic           = "Sum"
  period              = 86400
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}
