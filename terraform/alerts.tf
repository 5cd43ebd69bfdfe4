# At-risk alerts: a custom bus the consumer and sweep publish to (source "demand-insights",
# detail-types "Customer At Risk" / "Customer Recovered" / "Customer Not Returning"), and the schema of each detail-type.
resource "aws_cloudwatch_event_bus" "alerts" {
  name = "${local.prefix}-alerts"
}

resource "aws_schemas_registry" "alerts" {
  name        = "${local.prefix}-alerts"
  description = "Events published by Demand Insights on ${aws_cloudwatch_event_bus.alerts.name}."
}

locals {
  # The committed detail schemas (consumers/alerts/schemas, generated from models/customer/alertEvent.ts).
  alert_schema_files = {
    at_risk       = "${path.module}/../consumers/alerts/schemas/customer-at-risk.schema.json"
    recovered     = "${path.module}/../consumers/alerts/schemas/customer-recovered.schema.json"
    not_returning = "${path.module}/../consumers/alerts/schemas/customer-not-returning.schema.json"
  }

  # The registry takes OpenApi3 or JSONSchemaDraft4 documents describing the whole event, so each
  # committed detail schema (JSON Schema 2020-12) is embedded as `detail` of a Draft 4 envelope,
  # without its own $schema/$id. Its keywords are all Draft 4 except propertyNames, which Draft 4
  # tools ignore; validate against the committed file itself for the exact contract.
  alert_event_schemas = {
    for key, path in local.alert_schema_files : key => jsonencode({
      "$schema"   = "http://json-schema.org/draft-04/schema#"
      title       = local.alert_detail_types[key]
      description = "EventBridge event with source \"${local.alert_source}\" and detail-type \"${local.alert_detail_types[key]}\"."
      type        = "object"
      required    = ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"]
      properties = {
        version       = { type = "string" }
        id            = { type = "string" }
        "detail-type" = { type = "string", enum = [local.alert_detail_types[key]] }
        source        = { type = "string", enum = [local.alert_source] }
        account       = { type = "string" }
        time          = { type = "string", format = "date-time" }
        region        = { type = "string" }
        resources     = { type = "array", items = { type = "string" } }
        detail        = { for field, value in jsondecode(file(path)) : field => value if !contains(["$schema", "$id"], field) }
      }
    })
  }
}

resource "aws_schemas_schema" "alerts" {
  for_each = local.alert_schema_files

  name          = "${local.alert_source}@${replace(local.alert_detail_types[each.key], " ", "")}"
  registry_name = aws_schemas_registry.alerts.name
  type          = "JSONSchemaDraft4"
  description   = "${local.alert_detail_types[each.key]} (detail: consumers/alerts/schemas/${basename(each.value)})"
  content       = local.alert_event_schemas[each.key]
}
