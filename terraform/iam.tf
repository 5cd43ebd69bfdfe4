# Least-privilege roles: each Lambda gets exactly the calls its code makes.

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

# PutEvents on our bus, and only with our source and detail-types.
data "aws_iam_policy_document" "publish_alerts" {
  statement {
    sid       = "PublishAlerts"
    actions   = ["events:PutEvents"]
    resources = [aws_cloudwatch_event_bus.alerts.arn]

    condition {
      test     = "StringEquals"
      variable = "events:source"
      values   = [local.alert_source]
    }
    condition {
      test     = "StringEquals"
      variable = "events:detail-type"
      values   = values(local.alert_detail_types)
    }
  }
}

# ---------------------------------------------------------------------------------------------
# Consumer

resource "aws_iam_role" "consumer" {
  name               = "${local.prefix}-consumer"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

data "aws_iam_policy_document" "consumer" {
  source_policy_documents = [data.aws_iam_policy_document.publish_alerts.json, data.aws_iam_policy_document.kms_use.json, data.aws_iam_policy_document.tracing.json, data.aws_iam_policy_document.read_models.json]

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.consumer.arn}:*"]
  }

  # What the event source mapping needs to poll the stream (it runs as the function's role).
  statement {
    sid = "ReadStream"
    actions = [
      "kinesis:DescribeStream",
      "kinesis:DescribeStreamSummary",
      "kinesis:GetRecords",
      "kinesis:GetShardIterator",
      "kinesis:ListShards",
    ]
    resources = [aws_kinesis_stream.orders.arn]
  }

  # customerBatch.ts: BatchGetItem (load states), PutItem (conditional save), GetItem and
  # UpdateItem (the event-time watermark item). No Query or Scan.
  statement {
    sid       = "State"
    actions   = ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.state.arn]
  }

  # Poison records (sqsDeadLetterSink.ts) and the mapping's on-failure destination.
  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letters.arn]
  }
}

resource "aws_iam_role_policy" "consumer" {
  name   = "consumer"
  role   = aws_iam_role.consumer.id
  policy = data.aws_iam_policy_document.consumer.json
}

# ---------------------------------------------------------------------------------------------
# Sweep

resource "aws_iam_role" "sweep" {
  name               = "${local.prefix}-sweep"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

data "aws_iam_policy_document" "sweep" {
  source_policy_documents = [data.aws_iam_policy_document.publish_alerts.json, data.aws_iam_policy_document.kms_use.json, data.aws_iam_policy_document.tracing.json, data.aws_iam_policy_document.read_models.json]

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.sweep.arn}:*"]
  }

  # sweep.ts: GetItem (watermark), BatchGetItem and PutItem (rescore and save) on the table...
  statement {
    sid       = "State"
    actions   = ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem"]
    resources = [aws_dynamodb_table.state.arn]
  }

  # ...and Query on the due-index and the outbox-index only: the sweep never scans.
  statement {
    sid       = "DueIndex"
    actions   = ["dynamodb:Query"]
    resources = ["${aws_dynamodb_table.state.arn}/index/due-index", "${aws_dynamodb_table.state.arn}/index/outbox-index"]
  }

  # Alerts EventBridge refuses for good leave their outbox for the dead-letter queue.
  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letters.arn]
  }
}

resource "aws_iam_role_policy" "sweep" {
  name   = "sweep"
  role   = aws_iam_role.sweep.id
  policy = data.aws_iam_policy_document.sweep.json
}

# ---------------------------------------------------------------------------------------------
# EventBridge Scheduler → sweep

data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "${local.prefix}-sweep-scheduler"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "InvokeSweep"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.sweep.arn, "${aws_lambda_function.sweep.arn}:*"]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "invoke-sweep"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

# ---------------------------------------------------------------------------------------------
# Producers: attach to whatever writes orders to the stream (see outputs).

data "aws_iam_policy_document" "producer" {
  source_policy_documents = [data.aws_iam_policy_document.kms_use.json]

  statement {
    sid       = "WriteOrders"
    actions   = ["kinesis:PutRecord", "kinesis:PutRecords", "kinesis:DescribeStreamSummary", "kinesis:ListShards"]
    resources = [aws_kinesis_stream.orders.arn]
  }
}

resource "aws_iam_policy" "producer" {
  name        = "${local.prefix}-producer"
  description = "Write order events to ${aws_kinesis_stream.orders.name}."
  policy      = data.aws_iam_policy_document.producer.json
}
