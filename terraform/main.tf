# Demand Insights on AWS: the streaming scorer (this file and streaming.tf, state.tf, alerts.tf,
# queues.tf, consumer.tf, sweep.tf, iam.tf, alarms.tf) and the lake for the API (lake.tf).
# Build the Lambda packages first: `npx demand-insights bundle` (see README.md).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  prefix     = var.name_prefix
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  # Packages written by `demand-insights bundle` (bin/commands/bundle.ts): <name>.zip holding
  # index.mjs (exporting `handler`), its source map and model.json.
  lambda_artifacts_dir = var.lambda_artifacts_dir != null ? var.lambda_artifacts_dir : "${path.module}/../dist/lambda"

  # The event source and detail-types of the alerts (models/customer/alertEvent.ts).
  alert_source = "demand-insights"
  alert_detail_types = {
    at_risk       = "Customer At Risk"
    recovered     = "Customer Recovered"
    not_returning = "Customer Not Returning"
  }

  # Both Lambdas read the same configuration (consumers/consumerConfig.ts, ConsumerEnvSchema).
  # AWS_REGION is set by Lambda itself; the *_ENDPOINT overrides are for local stand-ins only.
  scorer_environment = {
    STATE_TABLE              = aws_dynamodb_table.state.name
    EVENT_BUS_NAME           = aws_cloudwatch_event_bus.alerts.name
    DEAD_LETTER_QUEUE_URL    = aws_sqs_queue.dead_letters.url
    MODEL_PATH               = "./model.json"
    MODEL_URI                = local.model_store_uri
    MODEL_REFRESH_SECONDS    = tostring(var.model_refresh_seconds)
    RISK_TRIGGER             = var.risk_trigger
    RISK_LEVEL               = tostring(var.risk_level)
    RISK_MIN_CHURN           = tostring(var.risk_min_churn)
    NOT_RETURNING_AFTER_DAYS = tostring(var.not_returning_after_days)
    SCORE_CLOCK              = var.score_clock
    SWEEP_BATCH_LIMIT        = tostring(var.sweep_batch_limit)
    EARLIEST_EVENT_TIME      = var.earliest_event_time
    MAX_EVENT_SKEW_HOURS     = tostring(var.max_event_skew_hours)
    DUPLICATE_HORIZON_DAYS   = tostring(var.duplicate_horizon_days)
    POWERTOOLS_LOG_LEVEL     = var.log_level
    # A larger young generation: the consumer allocates short-lived working copies of customer
    # states per batch (consumers/consumerConfig.ts, CONSUMER_V8_FLAGS; `bench consumer` runs with them too).
    NODE_OPTIONS = "--enable-source-maps --max-semi-space-size=32"
  }
}
