# The sweep of silent customers: consumers/lambda/sweep.ts, bundled as dist/lambda/sweep.zip.
# It rescores only the customers whose due time has come (the due-index) and resends the alerts
# left in outboxes (the outbox-index), never the whole table.
resource "aws_cloudwatch_log_group" "sweep" {
  name              = "/aws/lambda/${local.prefix}-sweep"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn
}

resource "aws_lambda_function" "sweep" {
  #checkov:skip=CKV_AWS_116:A sweep carries no data: a failed one is redone in full by the next scheduled sweep (it is idempotent), and its errors alarm (alarms.tf).
  #checkov:skip=CKV_AWS_117:Calls only AWS APIs (Kinesis, DynamoDB, EventBridge, SQS) over TLS with IAM; a VPC adds NAT or endpoints and cold-start time and isolates nothing here.
  #checkov:skip=CKV_AWS_272:The zip is built reproducibly by `demand-insights bundle` in this repository's pipeline and pinned by source_code_hash; code signing needs an AWS Signer profile the project does not run.
  function_name = "${local.prefix}-sweep"
  description   = "Rescores customers whose churn probability is due to cross the threshold."
  role          = aws_iam_role.sweep.arn

  filename         = "${local.lambda_artifacts_dir}/sweep.zip"
  source_code_hash = filebase64sha256("${local.lambda_artifacts_dir}/sweep.zip")
  handler          = "index.handler"
  runtime          = "nodejs22.x"
  architectures    = ["arm64"] # the bundles are pure JavaScript

  memory_size                    = var.sweep_memory_mb
  timeout                        = var.sweep_timeout_seconds
  reserved_concurrent_executions = var.sweep_reserved_concurrency

  kms_key_arn = local.kms_key_arn

  environment {
    variables = local.scorer_environment
  }

  tracing_config {
    mode = var.tracing_mode
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.sweep.name
  }

  depends_on = [aws_iam_role_policy.sweep]
}

resource "aws_scheduler_schedule" "sweep" {
  name                = "${local.prefix}-sweep"
  description         = "Runs the sweep of silent customers."
  schedule_expression = var.sweep_schedule
  kms_key_arn         = local.kms_key_arn

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.sweep.arn
    role_arn = aws_iam_role.scheduler.arn
    input    = jsonencode({})

    # A sweep is idempotent (conditional writes), so a retried one is harmless; a late one is
    # pointless once the next is due.
    retry_policy {
      maximum_retry_attempts       = 2
      maximum_event_age_in_seconds = 600
    }
  }
}
