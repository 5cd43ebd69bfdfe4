# The lake the API queries: Firehose copies the order stream to S3 as JSON lines partitioned by
# the event's date, Glue holds the tables, Athena runs the queries.
#
#   s3://<lake>/orders/date=YYYY-MM-DD/<firehose object>.json.gz   raw OrderEvent v1, one per line (orders_raw)
#   s3://<lake>/curated/versions/orders/<run>/date=YYYY-MM-DD/*     one row per order line (order_lines):
#                                                                   each day's Glue partition points at
#                                                                   its latest rebuild
#   s3://<lake>/curated/versions/products/<run>/*                   one row per product (products)
#   s3://<lake>/curated/versions/<summary>/<run>/*                  the summary tables (lake_summaries.tf)
#   s3://<lake>/errors/orders/...                                   records Firehose could not partition
#   s3://<lake>/athena-results/                                     query results (expire)
#
# The curated layout is what the API's SQL (api/sql/*.sql) reads, and exactly what
# `demand-insights lake build --out DIR` writes locally (api/lake/lakeLayout.ts; the Glue columns
# below are checked against it by test/unit/lakeLayout.test.ts): flat order lines, because an
# OrderEvent nests its lines and Firehose's record format conversion cannot flatten them. The
# curation Lambda (curation.tf, lake/) keeps both tables: hourly it rebuilds the days of its
# look-back window from orders_raw and swaps them in; backfills and replays are the same Lambda
# invoked with {"from", "to"}. Products are derived from the order lines (latest category).

locals {
  lake_bucket_name = var.lake_bucket_name != null ? var.lake_bucket_name : "${local.prefix}-lake-${local.account_id}-${local.region}"
  glue_database    = replace("${local.prefix}_lake", "-", "_")

  # The partition is the UTC calendar date of occurredAt. occurredAt is ISO-8601 with "Z" or an
  # offset (OrderEventSchema), so the offset is applied before taking the date: 2024-01-01T22:30:00-05:00
  # belongs to 2024-01-02. (Checked with jq 1.6, the engine Firehose runs.)
  order_date_query = <<-JQ
    {date: (.occurredAt as $t | (($t[0:19] + "Z") | fromdateiso8601) - ([$t | capture("(?<s>[+-])(?<h>[0-9]{2}):?(?<m>[0-9]{2})?$") | (if .s == "-" then -1 else 1 end) * ((.h | tonumber) * 3600 + ((.m // "0") | tonumber) * 60)] | add // 0) | strftime("%Y-%m-%d"))}
  JQ
}

# ---------------------------------------------------------------------------------------------
# Bucket

resource "aws_s3_bucket" "lake" {
  #checkov:skip=CKV_AWS_144:The lake is derived data (raw orders are a copy of the stream, curated/ is rebuilt by `lake build` or the curation query) and versioned; a second region's copy is a disaster-recovery choice for the operator, at twice the storage.
  #checkov:skip=CKV2_AWS_62:Nothing reacts to lake objects: Athena finds new days by partition projection, and curation runs on a schedule.
  bucket        = local.lake_bucket_name
  force_destroy = var.lake_force_destroy
}

resource "aws_s3_bucket_ownership_controls" "lake" {
  bucket = aws_s3_bucket.lake.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "lake" {
  bucket                  = aws_s3_bucket.lake.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "lake" {
  bucket = aws_s3_bucket.lake.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "lake" {
  bucket = aws_s3_bucket.lake.id
  rule {
    # SSE-KMS with kms_key_arn, or (null) the AWS managed key aws/s3; the bucket key keeps KMS
    # requests (and their cost) to one per object batch instead of one per object.
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = local.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "lake" {
  bucket = aws_s3_bucket.lake.id

  rule {
    id     = "expire-athena-results"
    status = "Enabled"
    filter {
      prefix = "athena-results/"
    }
    expiration {
      days = var.athena_results_expiration_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  rule {
    id     = "expire-firehose-errors"
    status = "Enabled"
    filter {
      prefix = "errors/"
    }
    expiration {
      days = 30
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  rule {
    id     = "expire-old-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.lake]
}

data "aws_iam_policy_document" "lake_bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.lake.arn, "${aws_s3_bucket.lake.arn}/*"]
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

resource "aws_s3_bucket_policy" "lake" {
  bucket     = aws_s3_bucket.lake.id
  policy     = data.aws_iam_policy_document.lake_bucket.json
  depends_on = [aws_s3_bucket_public_access_block.lake]
}

# ---------------------------------------------------------------------------------------------
# Firehose: order stream → s3://<lake>/orders/date=YYYY-MM-DD/

resource "aws_cloudwatch_log_group" "firehose" {
  name              = "/aws/kinesisfirehose/${local.prefix}-orders-to-lake"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn
}

resource "aws_cloudwatch_log_stream" "firehose" {
  name           = "DestinationDelivery"
  log_group_name = aws_cloudwatch_log_group.firehose.name
}

data "aws_iam_policy_document" "firehose_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["firehose.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "sts:ExternalId"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "firehose" {
  name               = "${local.prefix}-orders-to-lake"
  assume_role_policy = data.aws_iam_policy_document.firehose_assume.json
}

data "aws_iam_policy_document" "firehose" {
  source_policy_documents = [data.aws_iam_policy_document.kms_use.json]

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

  statement {
    sid = "WriteLake"
    actions = [
      "s3:AbortMultipartUpload",
      "s3:GetBucketLocation",
      "s3:GetObject",
      "s3:ListBucket",
      "s3:ListBucketMultipartUploads",
      "s3:PutObject",
    ]
    resources = [aws_s3_bucket.lake.arn, "${aws_s3_bucket.lake.arn}/orders/*", "${aws_s3_bucket.lake.arn}/errors/*"]
  }

  statement {
    sid       = "Logs"
    actions   = ["logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.firehose.arn}:*"]
  }
}

resource "aws_iam_role_policy" "firehose" {
  name   = "orders-to-lake"
  role   = aws_iam_role.firehose.id
  policy = data.aws_iam_policy_document.firehose.json
}

resource "aws_kinesis_firehose_delivery_stream" "orders" {
  name        = "${local.prefix}-orders-to-lake"
  destination = "extended_s3"

  kinesis_source_configuration {
    kinesis_stream_arn = aws_kinesis_stream.orders.arn
    role_arn           = aws_iam_role.firehose.arn
  }

  extended_s3_configuration {
    role_arn            = aws_iam_role.firehose.arn
    bucket_arn          = aws_s3_bucket.lake.arn
    prefix              = "orders/date=!{partitionKeyFromQuery:date}/"
    error_output_prefix = "errors/orders/!{firehose:error-output-type}/date=!{timestamp:yyyy-MM-dd}/"
    buffering_size      = var.firehose_buffering_size_mb
    buffering_interval  = var.firehose_buffering_interval_seconds
    compression_format  = "GZIP"
    file_extension      = ".json.gz"

    dynamic_partitioning_configuration {
      enabled = true
    }

    processing_configuration {
      enabled = true

      processors {
        type = "MetadataExtraction"
        parameters {
          parameter_name  = "JsonParsingEngine"
          parameter_value = "JQ-1.6"
        }
        parameters {
          parameter_name  = "MetadataExtractionQuery"
          parameter_value = chomp(local.order_date_query)
        }
      }

      # One JSON document per line, as Athena's JSON SerDe reads them.
      processors {
        type = "AppendDelimiterToRecord"
        parameters {
          parameter_name  = "Delimiter"
          parameter_value = "\\n"
        }
      }
    }

    cloudwatch_logging_options {
      enabled         = true
      log_group_name  = aws_cloudwatch_log_group.firehose.name
      log_stream_name = aws_cloudwatch_log_stream.firehose.name
    }
  }

  depends_on = [aws_iam_role_policy.firehose]
}

resource "aws_cloudwatch_metric_alarm" "lake_freshness" {
  alarm_name          = "${local.prefix}-lake-freshness"
  alarm_description   = "Firehose has held records for over 3 buffering intervals without delivering them to the lake."
  namespace           = "AWS/Firehose"
  metric_name         = "DeliveryToS3.DataFreshness"
  dimensions          = { DeliveryStreamName = aws_kinesis_firehose_delivery_stream.orders.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 3
  threshold           = 3 * var.firehose_buffering_interval_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}

# ---------------------------------------------------------------------------------------------
# Glue and Athena

resource "aws_glue_catalog_database" "lake" {
  name        = local.glue_database
  description = "Demand Insights lake (s3://${aws_s3_bucket.lake.bucket})."
}

# The raw orders as Firehose writes them. Partition projection: no crawler or MSCK REPAIR, a new
# day is queryable as soon as its first object lands. Glue lower-cases column names; the OpenX
# JSON SerDe matches them to the camelCase keys case-insensitively.
resource "aws_glue_catalog_table" "orders_raw" {
  name          = "orders_raw"
  database_name = aws_glue_catalog_database.lake.name
  description   = "OrderEvent v1 as delivered by Firehose (JSON lines, gzip)."
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    EXTERNAL                              = "TRUE"
    classification                        = "json"
    "projection.enabled"                  = "true"
    "projection.order_date.type"          = "date"
    "projection.order_date.format"        = "yyyy-MM-dd"
    "projection.order_date.range"         = "2000-01-01,NOW"
    "projection.order_date.interval"      = "1"
    "projection.order_date.interval.unit" = "DAYS"
    "storage.location.template"           = "s3://${aws_s3_bucket.lake.bucket}/orders/date=$${order_date}/"
  }

  partition_keys {
    name = "order_date"
    type = "string"
  }

  storage_descriptor {
    location      = "s3://${aws_s3_bucket.lake.bucket}/orders/"
    input_format  = "org.apache.hadoop.mapred.TextInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"

    ser_de_info {
      serialization_library = "org.openx.data.jsonserde.JsonSerDe"
      parameters = {
        "ignore.malformed.json" = "true"
      }
    }

    columns {
      name = "type"
      type = "string"
    }
    columns {
      name = "orderid"
      type = "string"
    }
    columns {
      name = "customerid"
      type = "string"
    }
    columns {
      name    = "occurredat"
      type    = "string"
      comment = "ISO-8601 with Z or an offset"
    }
    columns {
      name = "currency"
      type = "string"
    }
    columns {
      name    = "country"
      type    = "string"
      comment = "optional: NULL for events without one"
    }
    columns {
      name = "lines"
      type = "array<struct<productid:string,categoryid:string,quantity:double,unitprice:double>>"
    }
  }
}

resource "aws_athena_workgroup" "lake" {
  name          = local.prefix
  description   = "Demand Insights API queries."
  force_destroy = var.lake_force_destroy

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.athena_bytes_scanned_cutoff_per_query

    engine_version {
      selected_engine_version = "Athena engine version 3"
    }

    result_configuration {
      output_location = "s3://${aws_s3_bucket.lake.bucket}/athena-results/"
      encryption_configuration {
        encryption_option = local.kms_key_arn == null ? "SSE_S3" : "SSE_KMS"
        kms_key_arn       = local.kms_key_arn
      }
    }
  }
}

# For people and tools querying the lake through this workgroup: attach this policy (the API Lambda
# has its own role, modules/demand-insights-lambda, reaching curated/ and athena-results/ only).
data "aws_iam_policy_document" "lake_query" {
  statement {
    sid       = "RunQueries"
    actions   = ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults", "athena:StopQueryExecution", "athena:GetWorkGroup"]
    resources = [aws_athena_workgroup.lake.arn]
  }

  statement {
    sid     = "ReadCatalog"
    actions = ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartition", "glue:GetPartitions"]
    resources = [
      "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog",
      aws_glue_catalog_database.lake.arn,
      "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${aws_glue_catalog_database.lake.name}/*",
    ]
  }

  # The tables' prefixes (orders_raw: orders/, order_lines and products: curated/) and the
  # workgroup's results; never errors/ or anything else in the bucket.
  statement {
    sid       = "ReadLake"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.lake.arn}/orders/*", "${aws_s3_bucket.lake.arn}/curated/*", "${aws_s3_bucket.lake.arn}/athena-results/*"]
  }

  statement {
    sid       = "ListLake"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.lake.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["orders/*", "curated/*", "athena-results/*"]
    }
  }

  statement {
    sid       = "LocateLake"
    actions   = ["s3:GetBucketLocation"]
    resources = [aws_s3_bucket.lake.arn]
  }

  statement {
    sid       = "WriteResults"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
    resources = ["${aws_s3_bucket.lake.arn}/athena-results/*"]
  }
}

resource "aws_iam_policy" "lake_query" {
  name        = "${local.prefix}-lake-query"
  description = "Query the Demand Insights lake through the ${aws_athena_workgroup.lake.name} Athena workgroup."
  policy      = data.aws_iam_policy_document.lake_query.json
}

# ---------------------------------------------------------------------------------------------
# Curated tables (Parquet) for the API

locals {
  curated_root = "s3://${aws_s3_bucket.lake.bucket}/curated"

  # Keep in step with ORDER_LINE_COLUMNS and PRODUCT_COLUMNS in api/lake/lakeLayout.ts.
  order_line_columns = [
    { name = "order_id", type = "string" },
    { name = "customer_id", type = "string" },
    { name = "product_id", type = "string" },
    { name = "category_id", type = "string" },
    { name = "quantity", type = "double" },
    { name = "unit_price", type = "double" },
    { name = "occurred_at", type = "timestamp" },
    { name = "type", type = "string" },
    # The event's country (NULL when it has none). Added last: Athena reads Parquet columns by
    # name, so files written before it read NULL here.
    { name = "country", type = "string" },
  ]
  product_columns = [
    { name = "product_id", type = "string" },
    { name = "category_id", type = "string" },
  ]
}

# Registered partitions on `date` (the UTC day of occurred_at, a yyyy-MM-dd string), not partition
# projection: projection derives every partition's location from one template, so a day could not
# be pointed at a new rebuild. The curation registers and swaps them (ALTER TABLE ... PARTITION);
# `"date" <= ?` in the API's SQL still prunes the days it reads.
resource "aws_glue_catalog_table" "order_lines" {
  name          = "order_lines"
  database_name = aws_glue_catalog_database.lake.name
  description   = "Order lines (orders and returns), Parquet, one Hive partition per UTC day."
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    EXTERNAL              = "TRUE"
    classification        = "parquet"
    "parquet.compression" = "SNAPPY"
  }

  partition_keys {
    name = "date"
    type = "string"
  }

  storage_descriptor {
    location      = "${local.curated_root}/orders/"
    input_format  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

    ser_de_info {
      serialization_library = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
      parameters = {
        "serialization.format" = "1"
      }
    }

    dynamic "columns" {
      for_each = local.order_line_columns
      content {
        name = columns.value.name
        type = columns.value.type
      }
    }
  }
}

resource "aws_glue_catalog_table" "products" {
  name          = "products"
  database_name = aws_glue_catalog_database.lake.name
  description   = "One row per product with the category of its latest line that has one, Parquet."
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    EXTERNAL              = "TRUE"
    classification        = "parquet"
    "parquet.compression" = "SNAPPY"
  }

  storage_descriptor {
    location      = "${local.curated_root}/products/"
    input_format  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

    ser_de_info {
      serialization_library = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
      parameters = {
        "serialization.format" = "1"
      }
    }

    dynamic "columns" {
      for_each = local.product_columns
      content {
        name = columns.value.name
        type = columns.value.type
      }
    }
  }

  # The curation moves the location to each rebuild (ALTER TABLE products SET LOCATION); an apply
  # must not point it back at the empty root.
  lifecycle {
    ignore_changes = [storage_descriptor[0].location]
  }
}

# The curation that used to be a named query run by hand lives in curation.tf (and lake/sql/).
