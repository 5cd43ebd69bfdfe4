# The order stream: partition key = customerId, so one customer's events stay on one shard, in order.
resource "aws_kinesis_stream" "orders" {
  name             = "${local.prefix}-orders"
  shard_count      = var.stream_mode == "PROVISIONED" ? var.shard_count : null
  retention_period = var.stream_retention_hours

  # Server-side encryption with kms_key_arn, or the AWS managed key (readers and writers then need no KMS rights).
  encryption_type = "KMS"
  kms_key_id      = local.kms_key_arn != null ? local.kms_key_arn : "alias/aws/kinesis"

  stream_mode_details {
    stream_mode = var.stream_mode
  }
}
