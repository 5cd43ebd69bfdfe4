# Alarms on what needs a person: the consumer falling behind, dead letters, Lambda errors.

resource "aws_cloudwatch_metric_alarm" "consumer_iterator_age" {
  alarm_name          = "${local.prefix}-consumer-iterator-age"
  alarm_description   = "The consumer lags the order stream by more than ${var.iterator_age_alarm_ms} ms: scores and alerts are late, and records near the retention limit may expire unread."
  namespace           = "AWS/Lambda"
  metric_name         = "IteratorAge"
  dimensions          = { FunctionName = aws_lambda_function.consumer.function_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 5
  threshold           = var.iterator_age_alarm_ms
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  for_each = {
    dead-letters         = aws_sqs_queue.dead_letters.name
    dead-letters-redrive = aws_sqs_queue.dead_letters_redrive.name
  }

  alarm_name          = "${local.prefix}-${each.key}-not-empty"
  alarm_description   = "Messages wait in ${each.value}: poison records or batches the consumer gave up on (see README.md, 'Dead letters')."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "lambda_errors" {
  for_each = {
    consumer = aws_lambda_function.consumer.function_name
    sweep    = aws_lambda_function.sweep.function_name
  }

  alarm_name          = "${local.prefix}-${each.key}-errors"
  alarm_description   = "${each.value} failed invocations (whole batches or sweeps, not single poison records)."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}
