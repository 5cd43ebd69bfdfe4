# Per-customer state. Must equal stateTableDefinition() in consumers/stateStore/dynamoStateStore.ts
# (test/unit/terraform.test.ts checks it): one item per customer, plus the sparse due-index the
# sweep queries (only customers with a due time carry dueBucket/dueAt).
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

  global_secondary_index {
    name            = "due-index"
    hash_key        = "dueBucket"
    range_key       = "dueAt"
    projection_type = "KEYS_ONLY"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true # AWS managed key (alias/aws/dynamodb)
  }
}
