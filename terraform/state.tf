# Per-customer state. Must equal stateTableDefinition() in consumers/stateStore/dynamoStateStore.ts
# (test/unit/terraform.test.ts checks it): one item per customer, plus the two sparse indexes the
# sweep queries: due-index (only customers with a due time carry dueBucket/dueAt) and outbox-index
# (only customers with undelivered alerts carry outboxBucket/outboxAt), and the two the API pages:
# list-index (every customer, by bucket then id; written once per customer) and risk-index (only
# customers flagged at risk, by expected loss). All four KEYS_ONLY, encrypted with the table's key.
resource "aws_dynamodb_table" "state" {
  name                        = "${local.prefix}-customers"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "customerId"
  deletion_protection_enabled = var.state_table_deletion_protection

  attribute {
    name = "customerId"
    type = "S"
  }

  attribute {
    name = "dueBucket"
    type = "N"
  }

  attribute {
    name = "dueAt"
    type = "N"
  }

  attribute {
    name = "outboxBucket"
    type = "N"
  }

  attribute {
    name = "outboxAt"
    type = "N"
  }

  attribute {
    name = "listBucket"
    type = "N"
  }

  attribute {
    name = "riskPart"
    type = "N"
  }

  attribute {
    name = "riskKey"
    type = "S"
  }

  global_secondary_index {
    name            = "due-index"
    hash_key        = "dueBucket"
    range_key       = "dueAt"
    projection_type = "KEYS_ONLY"
  }

  global_secondary_index {
    name            = "outbox-index"
    hash_key        = "outboxBucket"
    range_key       = "outboxAt"
    projection_type = "KEYS_ONLY"
  }

  global_secondary_index {
    name            = "list-index"
    hash_key        = "listBucket"
    range_key       = "customerId"
    projection_type = "KEYS_ONLY"
  }

  global_secondary_index {
    name            = "risk-index"
    hash_key        = "riskPart"
    range_key       = "riskKey"
    projection_type = "KEYS_ONLY"
  }

  point_in_time_recovery {
    enabled = true
  }

  # Receipts of consumer invocations that settled their alerts in flight (StateStore.noteSettled)
  # carry an expiry; customer items never do.
  ttl {
    attribute_name = "expiresAt"
    enabled        = true
  }

  # kms_key_arn, or (null) the AWS managed key alias/aws/dynamodb.
  server_side_encryption {
    enabled     = true
    kms_key_arn = local.kms_key_arn
  }
}
