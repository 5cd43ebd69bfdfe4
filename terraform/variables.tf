# ---------------------------------------------------------------------------------------------
# General

variable "name_prefix" {
  description = "Prefix of every resource name (stream, table, bus, functions, queues, lake)."
  type        = string
  default     = "demand-insights"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix: 3-32 characters, lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"
}

variable "tags" {
  description = "Extra tags on every resource."
  type        = map(string)
  default     = {}
}

variable "lambda_artifacts_dir" {
  description = "Directory holding consumer.zip and sweep.zip from `demand-insights bundle` (default: ../dist/lambda, relative to this module)."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Retention of every CloudWatch log group (Lambdas, API access log, Firehose). A year by default: enough to look back at an incident, and what Checkov asks (CKV_AWS_338)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key (ARN) for the state table, the stream, the queues, the log groups, the Lambdas' environment, the schedule and the lake. Null: AWS-managed keys. Its key policy must let CloudWatch Logs (logs.<region>.amazonaws.com) use it; see README.md."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]{36}$", var.kms_key_arn))
    error_message = "kms_key_arn must be a key ARN (arn:aws:kms:<region>:<account>:key/<uuid>), not an alias."
  }
}

variable "tracing_mode" {
  description = "X-Ray tracing of every Lambda (Powertools Tracer is wired in each entry point): Active (default) or PassThrough."
  type        = string
  default     = "Active"

  validation {
    condition     = contains(["Active", "PassThrough"], var.tracing_mode)
    error_message = "tracing_mode must be Active or PassThrough."
  }
}

variable "log_level" {
  description = "Powertools log level of both Lambdas."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARN", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARN or ERROR."
  }
}

# ---------------------------------------------------------------------------------------------
# Kinesis stream

variable "stream_mode" {
  description = "ON_DEMAND (default: scales itself, billed per GB) or PROVISIONED (shard_count shards)."
  type        = string
  default     = "ON_DEMAND"

  validation {
    condition     = contains(["ON_DEMAND", "PROVISIONED"], var.stream_mode)
    error_message = "stream_mode must be ON_DEMAND or PROVISIONED."
  }
}

variable "shard_count" {
  description = "Shards when stream_mode = PROVISIONED (1 MB/s or 1,000 records/s of writes each); ignored on demand."
  type        = number
  default     = 2

  validation {
    condition     = var.shard_count >= 1 && floor(var.shard_count) == var.shard_count
    error_message = "shard_count must be a positive integer."
  }
}

variable "stream_retention_hours" {
  description = "How long the stream keeps records: the window for replaying what the on-failure destination points at."
  type        = number
  default     = 24

  validation {
    condition     = var.stream_retention_hours >= 24 && var.stream_retention_hours <= 8760
    error_message = "stream_retention_hours must be between 24 and 8760."
  }
}

# ---------------------------------------------------------------------------------------------
# Consumer: Lambda and its Kinesis event source mapping

variable "batch_size" {
  description = "Records per consumer invocation (ESM BatchSize); the 6 MB invocation payload caps it too."
  type        = number
  default     = 100

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000
    error_message = "batch_size must be between 1 and 10000."
  }
}

variable "maximum_batching_window_in_seconds" {
  description = "How long the ESM gathers records before invoking (0-300 s): larger windows give fuller batches, fewer invocations, more latency."
  type        = number
  default     = 1

  validation {
    condition     = var.maximum_batching_window_in_seconds >= 0 && var.maximum_batching_window_in_seconds <= 300
    error_message = "maximum_batching_window_in_seconds must be between 0 and 300."
  }
}

variable "parallelization_factor" {
  description = "Concurrent batches per shard (1-10). Order is still kept per partition key (customerId)."
  type        = number
  default     = 1

  validation {
    condition     = var.parallelization_factor >= 1 && var.parallelization_factor <= 10
    error_message = "parallelization_factor must be between 1 and 10."
  }
}

variable "starting_position" {
  description = "Where a new event source mapping starts reading: TRIM_HORIZON (everything retained) or LATEST."
  type        = string
  default     = "TRIM_HORIZON"

  validation {
    condition     = contains(["TRIM_HORIZON", "LATEST"], var.starting_position)
    error_message = "starting_position must be TRIM_HORIZON or LATEST."
  }
}

variable "maximum_retry_attempts" {
  description = "Retries of a failing batch (with bisection) before its metadata goes to the on-failure destination."
  type        = number
  default     = 10

  validation {
    condition     = var.maximum_retry_attempts >= -1 && var.maximum_retry_attempts <= 10000
    error_message = "maximum_retry_attempts must be between -1 (forever) and 10000."
  }
}

variable "maximum_record_age_in_seconds" {
  description = "Records older than this are not retried but sent to the on-failure destination (-1 = no limit, else 60-604800). Keep it below the stream's retention, so the records it points at can still be read."
  type        = number
  default     = 21600

  validation {
    condition     = var.maximum_record_age_in_seconds == -1 || (var.maximum_record_age_in_seconds >= 60 && var.maximum_record_age_in_seconds <= 604800)
    error_message = "maximum_record_age_in_seconds must be -1 or between 60 and 604800."
  }
}

variable "consumer_memory_mb" {
  description = "Consumer Lambda memory (CPU scales with it)."
  type        = number
  default     = 1024
}

variable "consumer_timeout_seconds" {
  description = "Consumer Lambda timeout."
  type        = number
  default     = 60
}

variable "consumer_reserved_concurrency" {
  description = "Reserved concurrency of the consumer (-1: unreserved). The ESM needs shards x parallelization_factor at most."
  type        = number
  default     = -1
}

# ---------------------------------------------------------------------------------------------
# Scoring policy (both Lambdas: consumers/consumerConfig.ts)

variable "risk_trigger" {
  description = "The measure that announces a repeat customer at risk (RISK_TRIGGER): 'spend-at-risk' (churn probability x spend per year), 'churn' (churn probability), 'expected-loss' (churn probability x CLV at the last purchase) or 'risk-rise' (rise in churn probability since the last purchase). See the README, Alerts worth acting on."
  type        = string
  default     = "spend-at-risk"

  validation {
    condition     = contains(["churn", "expected-loss", "risk-rise", "spend-at-risk"], var.risk_trigger)
    error_message = "risk_trigger must be churn, expected-loss, risk-rise or spend-at-risk."
  }
}

variable "risk_level" {
  description = "The level of risk_trigger's measure at which a repeat customer is at risk (RISK_LEVEL): a probability for churn and risk-rise, currency for expected-loss and spend-at-risk. The default was chosen by `demand-insights eval alerts` on Online Retail II."
  type        = number
  default     = 190

  validation {
    condition     = var.risk_level > 0 && (var.risk_trigger == "expected-loss" || var.risk_trigger == "spend-at-risk" || var.risk_level < 1)
    error_message = "risk_level must be positive, and below 1 for the churn and risk-rise triggers (currency for expected-loss and spend-at-risk)."
  }
}

variable "risk_min_churn" {
  description = "For the spend-at-risk, expected-loss and risk-rise triggers, the churn probability a repeat customer must also reach (RISK_MIN_CHURN)."
  type        = number
  default     = 0.22

  validation {
    condition     = var.risk_min_churn >= 0 && var.risk_min_churn <= 1
    error_message = "risk_min_churn must be in [0, 1]."
  }
}

variable "not_returning_after_days" {
  description = "Days of silence after a first purchase before a 'Customer Not Returning' event (NOT_RETURNING_AFTER_DAYS); 0 turns that event off."
  type        = number
  default     = 90

  validation {
    condition     = var.not_returning_after_days >= 0 && var.not_returning_after_days <= 3650 && floor(var.not_returning_after_days) == var.not_returning_after_days
    error_message = "not_returning_after_days must be a whole number of days from 0 to 3650."
  }
}

variable "score_clock" {
  description = "The sweep's clock. 'wall': it sweeps as of max(event-time watermark, now) (live); 'event': as of the watermark only (replays of old data). The consumer scores each customer as of its own latest event either way."
  type        = string
  default     = "wall"

  validation {
    condition     = contains(["wall", "event"], var.score_clock)
    error_message = "score_clock must be wall or event."
  }
}

variable "earliest_event_time" {
  description = "Orders with an earlier occurredAt are dead-lettered by the consumer and left out of the curated lake (EARLIEST_EVENT_TIME, ISO-8601)."
  type        = string
  default     = "1990-01-01T00:00:00.000Z"

  validation {
    condition     = can(regex("^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,3})?Z)?$", var.earliest_event_time))
    error_message = "earliest_event_time must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.sss]Z."
  }
}

variable "max_event_skew_hours" {
  description = "Orders later than the wall clock plus this many hours are dead-lettered (MAX_EVENT_SKEW_HOURS): no single event moves the scoring clock."
  type        = number
  default     = 24

  validation {
    condition     = var.max_event_skew_hours >= 0 && var.max_event_skew_hours <= 8760
    error_message = "max_event_skew_hours must be between 0 and 8760."
  }
}

variable "duplicate_horizon_days" {
  description = "Days of event time for which a producer retry (same type and order id) is ignored (DUPLICATE_HORIZON_DAYS); an order older than this before the customer's latest event is dead-lettered."
  type        = number
  default     = 400

  validation {
    condition     = var.duplicate_horizon_days >= 1 && var.duplicate_horizon_days <= 3650 && floor(var.duplicate_horizon_days) == var.duplicate_horizon_days
    error_message = "duplicate_horizon_days must be a whole number between 1 and 3650."
  }
}

# ---------------------------------------------------------------------------------------------
# Sweep

variable "sweep_schedule" {
  description = "EventBridge Scheduler expression for the sweep of silent customers."
  type        = string
  default     = "rate(15 minutes)"
}

variable "sweep_batch_limit" {
  description = "Customers the sweep rescores per page (SWEEP_BATCH_LIMIT)."
  type        = number
  default     = 5000

  validation {
    condition     = var.sweep_batch_limit >= 1 && var.sweep_batch_limit <= 100000
    error_message = "sweep_batch_limit must be between 1 and 100000."
  }
}

variable "sweep_memory_mb" {
  description = "Sweep Lambda memory."
  type        = number
  default     = 1024
}

variable "sweep_timeout_seconds" {
  description = "Sweep Lambda timeout: a sweep may page through many due customers."
  type        = number
  default     = 300
}

variable "sweep_reserved_concurrency" {
  description = "Reserved concurrency of the sweep (-1: unreserved; 1 forbids overlapping sweeps, which are safe but wasteful)."
  type        = number
  default     = -1
}

# ---------------------------------------------------------------------------------------------
# State table

variable "state_table_deletion_protection" {
  description = "Deletion protection on the customer state table (turn off before `terraform destroy`)."
  type        = bool
  default     = true
}

# ---------------------------------------------------------------------------------------------
# Alarms

variable "alarm_actions" {
  description = "ARNs (e.g. SNS topics) notified when an alarm fires or clears."
  type        = list(string)
  default     = []
}

variable "iterator_age_alarm_ms" {
  description = "Alarm when the consumer's IteratorAge (how far it lags the stream) stays above this."
  type        = number
  default     = 300000
}

# ---------------------------------------------------------------------------------------------
# Lake (lake.tf)

variable "lake_bucket_name" {
  description = "S3 bucket of the lake (default: <name_prefix>-lake-<account>-<region>)."
  type        = string
  default     = null
}

variable "lake_force_destroy" {
  description = "Let `terraform destroy` delete a non-empty lake bucket and Athena workgroup."
  type        = bool
  default     = false
}

variable "firehose_buffering_interval_seconds" {
  description = "Firehose flushes to S3 after this long (60-900 s)."
  type        = number
  default     = 300

  validation {
    condition     = var.firehose_buffering_interval_seconds >= 60 && var.firehose_buffering_interval_seconds <= 900
    error_message = "firehose_buffering_interval_seconds must be between 60 and 900."
  }
}

variable "firehose_buffering_size_mb" {
  description = "Firehose flushes to S3 after this many MB; dynamic partitioning needs at least 64."
  type        = number
  default     = 64

  validation {
    condition     = var.firehose_buffering_size_mb >= 64 && var.firehose_buffering_size_mb <= 128
    error_message = "firehose_buffering_size_mb must be between 64 and 128 (dynamic partitioning's minimum is 64)."
  }
}

variable "athena_bytes_scanned_cutoff_per_query" {
  description = "Athena cancels a query of this workgroup that scans more (bytes; at least 10 MB)."
  type        = number
  default     = 10737418240
}

variable "athena_results_expiration_days" {
  description = "Days Athena query results are kept under athena-results/."
  type        = number
  default     = 7
}

# ---------------------------------------------------------------------------------------------
# Lake curation (curation.tf)

variable "curation_schedule" {
  description = "EventBridge Scheduler expression for the lake's curation."
  type        = string
  default     = "rate(1 hour)"
}

variable "curation_lookback_days" {
  description = "Whole days before today each scheduled curation rebuilds (LOOKBACK_DAYS): late arrivals and Firehose buffering."
  type        = number
  default     = 3

  validation {
    condition     = var.curation_lookback_days >= 0 && var.curation_lookback_days <= 90 && floor(var.curation_lookback_days) == var.curation_lookback_days
    error_message = "curation_lookback_days must be a whole number between 0 and 90."
  }
}

variable "curation_grace_minutes" {
  description = "Minutes after its run starts before a superseded rebuild is deleted from S3 (GRACE_MINUTES): longer than the longest Athena query, so none planned on it is cut short."
  type        = number
  default     = 1440

  validation {
    condition     = var.curation_grace_minutes >= 60 && floor(var.curation_grace_minutes) == var.curation_grace_minutes
    error_message = "curation_grace_minutes must be a whole number of at least 60 (an Athena query may run 30 minutes and more)."
  }
}

variable "curation_timeout_seconds" {
  description = "Curation Lambda timeout: a backfill of many days runs one CTAS per 100 days."
  type        = number
  default     = 900
}

# Kafka (optional, terraform/kafka.tf): off unless a cluster ARN or bootstrap servers are given.

variable "kafka_msk_cluster_arn" {
  description = "ARN of an Amazon MSK cluster to consume from; empty = no MSK mapping."
  type        = string
  default     = ""
}

variable "kafka_bootstrap_servers" {
  description = "Bootstrap servers of a self-managed Kafka cluster (host:port,...); used when no MSK ARN is given."
  type        = string
  default     = ""
}

variable "kafka_topic" {
  description = "Topic of OrderEvent v1 messages, keyed by customer id."
  type        = string
  default     = "orders"
}

variable "kafka_consumer_group_id" {
  description = "Consumer group of the mapping (set at creation only)."
  type        = string
  default     = "demand-insights-consumer"
}

variable "kafka_starting_position" {
  description = "Where a new mapping starts reading: TRIM_HORIZON or LATEST."
  type        = string
  default     = "TRIM_HORIZON"
  validation {
    condition     = contains(["TRIM_HORIZON", "LATEST"], var.kafka_starting_position)
    error_message = "kafka_starting_position must be TRIM_HORIZON or LATEST."
  }
}

variable "kafka_batch_size" {
  description = "Records per invocation (1 to 10,000)."
  type        = number
  default     = 500
  validation {
    condition     = var.kafka_batch_size >= 1 && var.kafka_batch_size <= 10000
    error_message = "kafka_batch_size must be between 1 and 10000."
  }
}

variable "kafka_subnet_ids" {
  description = "Self-managed cluster: VPC subnets the pollers join."
  type        = list(string)
  default     = []
}

variable "kafka_security_group_ids" {
  description = "Self-managed cluster: security groups of the pollers."
  type        = list(string)
  default     = []
}

variable "kafka_sasl_scram_secret_arn" {
  description = "Secrets Manager secret with SASL/SCRAM-512 credentials for the cluster; empty = none."
  type        = string
  default     = ""
}

# Models (terraform/trainer.tf): retrained on a schedule, hot-loaded by the scoring functions.

variable "model_refresh_seconds" {
  description = "How often, at most, the consumer, sweep and API look at the model store's pointer for a new model."
  type        = number
  default     = 300
  validation {
    condition     = var.model_refresh_seconds >= 1 && var.model_refresh_seconds <= 86400
    error_message = "model_refresh_seconds must be from 1 to 86400."
  }
}

variable "trainer_schedule" {
  description = "EventBridge Scheduler expression for retraining the model."
  type        = string
  default     = "rate(7 days)"
}

variable "trainer_memory_mb" {
  description = "Trainer Lambda memory: the lake's orders and the boosted trees are fitted in memory (CPU scales with it)."
  type        = number
  default     = 3008
}

variable "trainer_timeout_seconds" {
  description = "Trainer Lambda timeout (Lambda's maximum is 900)."
  type        = number
  default     = 900
}

variable "trainer_training_days" {
  description = "Days of the lake the trainer reads, back from the run's day."
  type        = number
  default     = 730
}

variable "trainer_horizon_days" {
  description = "Churn and CLV horizon of the trained model, in days."
  type        = number
  default     = 90
}

variable "trainer_tolerance_churn_auc" {
  description = "How far below the serving model's holdout churn ROC-AUC a new model may fall and still be published."
  type        = number
  default     = 0.01
}

variable "trainer_tolerance_clv_spearman" {
  description = "How far below the serving model's holdout CLV Spearman a new model may fall and still be published."
  type        = number
  default     = 0.02
}
