# S3 server access logs of the lake: who read or wrote which object, kept in a bucket of their
# own (a bucket cannot usefully log to itself). Server access logging delivers only to buckets
# encrypted with SSE-S3, hence AES256 here whatever kms_key_arn says.

resource "aws_s3_bucket" "lake_access_logs" {
  #checkov:skip=CKV_AWS_18:This is the access-log bucket itself; logging it to itself would log its own deliveries without end.
  #checkov:skip=CKV_AWS_144:Access logs are an audit trail of this region's lake; replicating them is the operator's disaster-recovery choice.
  #checkov:skip=CKV_AWS_145:S3 server access logging delivers only to buckets with SSE-S3 (AES256) default encryption, not SSE-KMS.
  #checkov:skip=CKV2_AWS_62:Nothing reacts to access-log objects; they are read when auditing.
  bucket        = "${local.lake_bucket_name}-access-logs"
  force_destroy = var.lake_force_destroy
}

resource "aws_s3_bucket_ownership_controls" "lake_access_logs" {
  bucket = aws_s3_bucket.lake_access_logs.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "lake_access_logs" {
  bucket                  = aws_s3_bucket.lake_access_logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "lake_access_logs" {
  bucket = aws_s3_bucket.lake_access_logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "lake_access_logs" {
  bucket = aws_s3_bucket.lake_access_logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "lake_access_logs" {
  bucket = aws_s3_bucket.lake_access_logs.id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = var.log_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.lake_access_logs]
}

# The logging service writes with its own principal, allowed here for the lake only; TLS only.
data "aws_iam_policy_document" "lake_access_logs" {
  statement {
    sid       = "S3ServerAccessLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.lake_access_logs.arn}/lake/*"]
    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.lake.arn]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.lake_access_logs.arn, "${aws_s3_bucket.lake_access_logs.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "lake_access_logs" {
  bucket     = aws_s3_bucket.lake_access_logs.id
  policy     = data.aws_iam_policy_document.lake_access_logs.json
  depends_on = [aws_s3_bucket_public_access_block.lake_access_logs]
}

resource "aws_s3_bucket_logging" "lake" {
  bucket        = aws_s3_bucket.lake.id
  target_bucket = aws_s3_bucket.lake_access_logs.id
  target_prefix = "lake/"
}
