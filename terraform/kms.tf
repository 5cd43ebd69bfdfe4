# Encryption keys. With kms_key_arn set, the table, the stream, the queues, the log groups, the
# Lambdas' environment variables, the sweep's schedule and the lake use that customer-managed key;
# without it, each service's AWS-managed key (no key policy to write, no grants to manage).
# Every role that reads or writes data under the key gets kms:Decrypt and kms:GenerateDataKey on
# it (Kinesis, SQS and S3 check the caller's KMS rights; DynamoDB and CloudWatch Logs use grants
# and the key policy).

locals {
  kms_key_arn = var.kms_key_arn
}

data "aws_iam_policy_document" "kms_use" {
  dynamic "statement" {
    for_each = local.kms_key_arn == null ? [] : [local.kms_key_arn]
    content {
      sid       = "UseDataKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

# X-Ray segments from Powertools Tracer (tracing_mode). X-Ray has no resource-level permissions.
data "aws_iam_policy_document" "tracing" {
  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}
