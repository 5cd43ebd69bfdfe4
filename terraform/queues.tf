# One dead-letter queue for both kinds of failure:
# - poison records, sent by the consumer itself (consumers/deadLetters/sqsDeadLetterSink.ts) with
#   the record and the reason it was rejected;
# - the event source mapping's on-failure destination: metadata (shard, sequence range) of a batch
#   that still failed after its retries or grew older than maximum_record_age_in_seconds. Those
#   records stay readable in the stream for stream_retention_hours.
resource "aws_sqs_queue" "dead_letters" {
  name                      = "${local.prefix}-dead-letters"
  message_retention_seconds = 1209600 # 14 days, the maximum
  # kms_key_arn (the senders' roles get kms:GenerateDataKey), or SSE-SQS, which needs no KMS rights.
  kms_master_key_id       = local.kms_key_arn
  sqs_managed_sse_enabled = local.kms_key_arn == null

  # Whatever reprocesses the dead letters and keeps failing on one moves it aside here.
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letters_redrive.arn
    maxReceiveCount     = 5
  })
}

resource "aws_sqs_queue" "dead_letters_redrive" {
  name                      = "${local.prefix}-dead-letters-redrive"
  message_retention_seconds = 1209600
  kms_master_key_id         = local.kms_key_arn
  sqs_managed_sse_enabled   = local.kms_key_arn == null
}
