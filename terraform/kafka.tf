# The Kafka consumer (optional): consumers/lambda/kafkaConsumer.ts, bundled as
# dist/lambda/kafka-consumer.zip, fed by an event source mapping from Amazon MSK
# (var.kafka_msk_cluster_arn) or a self-managed cluster (var.kafka_bootstrap_servers). Off unless
# one of the two is given: nothing below is created otherwise. Same core, state table, bus and
# dead-letter queue as the Kinesis consumer.

locals {
  kafka_enabled      = var.kafka_msk_cluster_arn != "" || var.kafka_bootstrap_servers != ""
  kafka_self_managed = var.kafka_msk_cluster_arn == "" && var.kafka_bootstrap_servers != ""
  kafka_count        = local.kafka_enabled ? 1 : 0
}

resource "aws_cloudwatch_log_group" "kafka_consumer" {
  count             = local.kafka_count
  name              = "/aws/lambda/${local.prefix}-kafka-consumer"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn
}

resource "aws_lambda_function" "kafka_consumer" {
  #checkov:skip=CKV_AWS_116:Invoked by the Kafka event source mapping, which retries a failed batch; poison records go to the dead-letter queue from the handler, and a function DLQ only serves asynchronous invocations.
  #checkov:skip=CKV_AWS_117:Calls only AWS APIs (DynamoDB, EventBridge, SQS) over TLS with IAM; the mapping's pollers, not the function, join the cluster's VPC for a self-managed cluster.
  #checkov:skip=CKV_AWS_272:The zip is built reproducibly by `demand-insights bundle` in this repository's pipeline and pinned by source_code_hash; code signing needs an AWS Signer profile the project does not run.
  count         = local.kafka_count
  function_name = "${local.prefix}-kafka-consumer"
  description   = "Scores customers from the Kafka order topic and publishes at-risk transitions."
  role          = aws_iam_role.kafka_consumer[0].arn

  filename         = "${local.lambda_artifacts_dir}/kafka-consumer.zip"
  source_code_hash = filebase64sha256("${local.lambda_artifacts_dir}/kafka-consumer.zip")
  handler          = "index.handler"
  runtime          = "nodejs22.x"
  architectures    = ["arm64"] # the bundles are pure JavaScript

  memory_size = var.consumer_memory_mb
  timeout     = var.consumer_timeout_seconds

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
    log_group  = aws_cloudwatch_log_group.kafka_consumer[0].name
  }

  depends_on = [aws_iam_role_policy.kafka_consumer]
}

# Kafka mappings take no partial batch response without provisioned pollers: the handler fails
# the invocation on a transient failure and the batch comes again (offsets already applied are
# ignored by the state's topic/partition marks); poison records go to the dead-letter queue from
# the handler itself.
resource "aws_lambda_event_source_mapping" "kafka_consumer" {
  count             = local.kafka_count
  function_name     = aws_lambda_function.kafka_consumer[0].arn
  event_source_arn  = local.kafka_self_managed ? null : var.kafka_msk_cluster_arn
  topics            = [var.kafka_topic]
  starting_position = var.kafka_starting_position
  batch_size        = var.kafka_batch_size

  maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds

  dynamic "amazon_managed_kafka_event_source_config" {
    for_each = local.kafka_self_managed ? [] : [1]
    content {
      consumer_group_id = var.kafka_consumer_group_id
    }
  }

  dynamic "self_managed_event_source" {
    for_each = local.kafka_self_managed ? [1] : []
    content {
      endpoints = { KAFKA_BOOTSTRAP_SERVERS = var.kafka_bootstrap_servers }
    }
  }

  dynamic "self_managed_kafka_event_source_config" {
    for_each = local.kafka_self_managed ? [1] : []
    content {
      consumer_group_id = var.kafka_consumer_group_id
    }
  }

  # A self-managed cluster in a VPC: the subnets and security groups the pollers join, and
  # the Secrets Manager secret with its SASL/SCRAM credentials, when given.
  dynamic "source_access_configuration" {
    for_each = local.kafka_self_managed ? var.kafka_subnet_ids : []
    content {
      type = "VPC_SUBNET"
      uri  = "subnet:${source_access_configuration.value}"
    }
  }

  dynamic "source_access_configuration" {
    for_each = local.kafka_self_managed ? var.kafka_security_group_ids : []
    content {
      type = "VPC_SECURITY_GROUP"
      uri  = "security_group:${source_access_configuration.value}"
    }
  }

  dynamic "source_access_configuration" {
    for_each = var.kafka_sasl_scram_secret_arn == "" ? [] : [var.kafka_sasl_scram_secret_arn]
    content {
      type = "SASL_SCRAM_512_AUTH"
      uri  = source_access_configuration.value
    }
  }

  depends_on = [aws_iam_role_policy.kafka_consumer]
}

resource "aws_iam_role" "kafka_consumer" {
  count              = local.kafka_count
  name               = "${local.prefix}-kafka-consumer"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

data "aws_iam_policy_document" "kafka_consumer" {
  #checkov:skip=CKV_AWS_111:The VPC statement's ec2 network-interface actions are what Lambda's Kafka pollers need for a self-managed cluster in a VPC, and EC2 takes no resource-level constraint on them.
  #checkov:skip=CKV_AWS_356:EC2 evaluates CreateNetworkInterface and the Describe calls only against "*" (AWS's AWSLambdaVPCAccessExecutionRole grants them the same way); every other statement names its resource.
  count                   = local.kafka_count
  source_policy_documents = [data.aws_iam_policy_document.publish_alerts.json, data.aws_iam_policy_document.kms_use.json, data.aws_iam_policy_document.tracing.json, data.aws_iam_policy_document.read_models.json]

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.kafka_consumer[0].arn}:*"]
  }

  # customerBatch.ts, as the Kinesis consumer: load states, conditional save, the watermark item.
  statement {
    sid       = "State"
    actions   = ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.state.arn]
  }

  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letters.arn]
  }

  # What the mapping's pollers need (they run as the function's role): the cluster's brokers,
  # and network interfaces in its VPC.
  dynamic "statement" {
    for_each = local.kafka_self_managed ? [] : [1]
    content {
      sid       = "ReadCluster"
      actions   = ["kafka:DescribeCluster", "kafka:DescribeClusterV2", "kafka:GetBootstrapBrokers"]
      resources = [var.kafka_msk_cluster_arn]
    }
  }

  statement {
    sid = "VpcAccess"
    actions = [
      "ec2:CreateNetworkInterface",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DeleteNetworkInterface",
      "ec2:DescribeVpcs",
      "ec2:DescribeSubnets",
      "ec2:DescribeSecurityGroups",
    ]
    resources = ["*"] # these EC2 calls take no resource-level permissions
  }

  dynamic "statement" {
    for_each = var.kafka_sasl_scram_secret_arn == "" ? [] : [1]
    content {
      sid       = "ClusterSecret"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [var.kafka_sasl_scram_secret_arn]
    }
  }
}

resource "aws_iam_role_policy" "kafka_consumer" {
  count  = local.kafka_count
  name   = "kafka-consumer"
  role   = aws_iam_role.kafka_consumer[0].id
  policy = data.aws_iam_policy_document.kafka_consumer[0].json
}
