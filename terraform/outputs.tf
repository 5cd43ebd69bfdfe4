output "stream_name" {
  description = "Kinesis stream producers write OrderEvent v1 to (partition key: customerId)."
  value       = aws_kinesis_stream.orders.name
}

output "stream_arn" {
  value = aws_kinesis_stream.orders.arn
}

output "state_table_name" {
  description = "DynamoDB table of per-customer state (STATE_TABLE)."
  value       = aws_dynamodb_table.state.name
}

output "event_bus_name" {
  description = "EventBridge bus carrying \"Customer At Risk\", \"Customer Recovered\" and \"Customer Not Returning\" (source demand-insights)."
  value       = aws_cloudwatch_event_bus.alerts.name
}

output "event_bus_arn" {
  value = aws_cloudwatch_event_bus.alerts.arn
}

output "schema_registry_name" {
  value = aws_schemas_registry.alerts.name
}

output "dead_letter_queue_url" {
  description = "Poison records and the event source mapping's failed-batch metadata."
  value       = aws_sqs_queue.dead_letters.url
}

output "dead_letter_queue_arn" {
  value = aws_sqs_queue.dead_letters.arn
}

output "consumer_function_name" {
  value = aws_lambda_function.consumer.function_name
}

output "sweep_function_name" {
  value = aws_lambda_function.sweep.function_name
}

output "producer_policy_arn" {
  description = "IAM policy allowing PutRecord(s) on the stream: attach it to producers."
  value       = aws_iam_policy.producer.arn
}

output "lake_bucket" {
  value = aws_s3_bucket.lake.bucket
}

output "glue_database" {
  value = aws_glue_catalog_database.lake.name
}

output "athena_workgroup" {
  value = aws_athena_workgroup.lake.name
}

output "athena_results_location" {
  value = "s3://${aws_s3_bucket.lake.bucket}/athena-results/"
}

output "lake_query_policy_arn" {
  description = "IAM policy for querying the lake through the workgroup (raw and curated tables): attach it to people and tools; the API Lambda has its own, narrower role (modules/demand-insights-lambda)."
  value       = aws_iam_policy.lake_query.arn
}
