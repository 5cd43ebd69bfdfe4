# The stream consumer: consumers/lambda/kinesisConsumer.ts, bundled as dist/lambda/consumer.zip.
resource "aws_cloudwatch_log_group" "consumer" {
  name              = "/aws/lambda/${local.prefix}-consumer"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn
}

resource "aws_lambda_function" "consumer" {
  #checkov:skip=CKV_AWS_116:Invoked by the Kinesis event source mapping, whose on-failure destination (the dead-letter queue) gets what fails; a function DLQ only serves asynchronous invocations.
  #checkov:skip=CKV_AWS_117:Calls only AWS APIs (Kinesis, DynamoDB, EventBridge, SQS) over TLS with IAM; a VPC adds NAT or endpoints and cold-start time and isolates nothing here.
  #checkov:skip=CKV_AWS_272:The zip is built reproducibly by `demand-insights bundle` in this repository's pipeline and pinned by source_code_hash; code signing needs an AWS Signer profile the project does not run.
  function_name = "${local.prefix}-consumer"
  description   = "Scores customers from the order stream and publishes at-risk transitions."
  role          = aws_iam_role.consumer.arn

  filename         = "${local.lambda_artifacts_dir}/consumer.zip"
  source_code_hash = filebase64sha256("${local.lambda_artifacts_dir}/consumer.zip")
  handler          = "index.handler"
  runtime          = "nodejs22.x"
  architectures    = ["arm64"] # the bundles are pure JavaScript

  memory_size                    = var.consumer_memory_mb
  timeout                        = var.consumer_timeout_seconds
  reserved_concurrent_executions = var.consumer_reserved_concurrency

  kms_key_arn = local.kms_key_arn

  environment {
    variables = local.scorer_environment
  }

  tracing_config {
    mode = var.tracing_mode
  }

  logging_config {
    log_format = "Text" # Powertools writes JSON lines (and EMF metrics) itself
    log_group  = aws_cloudwatch_log_group.consumer.name
  }

  depends_on = [aws_iam_role_policy.consumer]
}

# Batches of up to batch_size records per shard. Failures are partial: the handler answers with
# batchItemFailures (ReportBatchItemFailures), a failing batch is bisected and retried, and what
# still fails lands in the dead-letter queue as metadata instead of blocking its shard.
resource "aws_lambda_event_source_mapping" "consumer" {
  event_source_arn  = aws_kinesis_stream.orders.arn
  function_name     = aws_lambda_function.consumer.arn
  starting_position = var.starting_position

  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
  parallelization_factor             = var.parallelization_factor

  function_response_types        = ["ReportBatchItemFailures"]
  bisect_batch_on_function_error = true
  maximum_retry_attempts         = var.maximum_retry_attempts
  maximum_record_age_in_seconds  = var.maximum_record_age_in_seconds

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.dead_letters.arn
    }
  }

  # The mapping checks the role's Kinesis and SQS permissions when it is created.
  depends_on = [aws_iam_role_policy.consumer]
}
