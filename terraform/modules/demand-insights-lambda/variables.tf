# ---------------------------------------------------------------------------------------------
# The old module's inputs, with its defaults and its required ones: a caller of the old module
# switches by changing `source` only (test/unit/terraform.test.ts holds this list).

variable "function_name" {
  description = "Name of the Lambda function"
  type        = string
  default     = "demand-insights-engine"
}

variable "lambda_zip_path" {
  description = "Path to the Lambda deployment package (dist/lambda/api.zip from `demand-insights bundle`)"
  type        = string
}

variable "athena_database" {
  description = "Athena database name (ATHENA_DATABASE)"
  type        = string
  default     = "demand_insights_db"
}

variable "athena_output_location" {
  description = "S3 location for Athena query results (ATHENA_OUTPUT_LOCATION), s3://bucket/prefix/"
  type        = string

  validation {
    condition     = can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$", var.athena_output_location))
    error_message = "athena_output_location must be s3://bucket/ or s3://bucket/prefix/."
  }
}

variable "data_bucket_prefix" {
  description = "Prefix for data lake S3 buckets: without lake_bucket_name, the function reads curated/ of buckets named <data_bucket_prefix>-*"
  type        = string
  default     = "ecommerce-data"
}

variable "aws_region" {
  description = "AWS region (the function reads AWS_REGION, which Lambda sets to the region it runs in; this names the region in the policy's ARNs)"
  type        = string
  default     = "us-east-1"
}

variable "log_level" {
  description = "Logging level (LOG_LEVEL): DEBUG, INFO, WARN (or WARNING) or ERROR"
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARN", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARN, WARNING or ERROR."
  }
}

variable "log_retention_days" {
  description = "CloudWatch log retention in days"
  type        = number
  default     = 7
}

variable "api_gateway_execution_arn" {
  description = "API Gateway execution ARN (the permission lets any stage and route of it invoke the function)"
  type        = string
}

variable "tags" {
  description = "Tags to apply to resources"
  type        = map(string)
  default     = {}
}

# ---------------------------------------------------------------------------------------------
# Optional additions: every one has a default, so the old calls above stay valid.

variable "athena_workgroup" {
  description = "Athena workgroup the queries run in (ATHENA_WORKGROUP). \"primary\" exists in every account."
  type        = string
  default     = "primary"
}

variable "lake_bucket_name" {
  description = "The lake bucket: when set, S3 reads are scoped to its curated/ prefix instead of <data_bucket_prefix>-* buckets."
  type        = string
  default     = null
}

variable "state_table_name" {
  description = "DynamoDB table of the scorer's live customer state (STATE_TABLE), read only. Null: scores come from the lake alone."
  type        = string
  default     = null
}

variable "memory_size" {
  description = "Memory (MB); CPU scales with it."
  type        = number
  default     = 1536
}

variable "timeout" {
  description = "Timeout (s). API Gateway gives up at 29-30 s, so a longer one only bills work nobody receives."
  type        = number
  default     = 28

  validation {
    condition     = var.timeout >= 3 && var.timeout <= 28
    error_message = "timeout must be between 3 and 28 seconds (API Gateway's integration timeout is 29-30 s)."
  }
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency (-1: unreserved)."
  type        = number
  default     = -1
}

variable "environment" {
  description = "More environment variables of api/lambda.ts (MODEL_PATH, LAKE_SQL_DIR, CORS_ALLOWED_ORIGINS, SCORE_CLOCK, ...), merged over the module's."
  type        = map(string)
  default     = {}
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for the log group and the environment variables, and for reading data encrypted with it. Null: AWS-managed keys."
  type        = string
  default     = null
}

variable "tracing_mode" {
  description = "X-Ray tracing of the function: Active (default) or PassThrough."
  type        = string
  default     = "Active"

  validation {
    condition     = contains(["Active", "PassThrough"], var.tracing_mode)
    error_message = "tracing_mode must be Active or PassThrough."
  }
}
