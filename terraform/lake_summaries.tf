# The summary tables (SUMMARY_TABLES in api/lake/lakeLayout.ts; columns checked against it by
# test/unit/lakeLayout.test.ts): aggregates of the curated order lines that the curation
# (curation.tf, lake/sql/curate_<table>.sql) rebuilds after every run that changes them, as it
# rebuilds products, so the API's queries scan megabytes instead of every order line:
#
#   s3://<lake>/curated/versions/<table>/<run>/*   customer_summary, customer_orders,
#                                                  product_daily_sales, daily_totals
#
# The curation's IAM already covers them (curated/versions/* and the database's tables), and so
# does the API's (curated/*).

locals {
  summary_tables = {
    customer_summary = {
      description = "One row per customer with an order: last order day, distinct orders, spend in cents."
      columns = [
        { name = "customer_id", type = "string" },
        { name = "last_order_day", type = "date" },
        { name = "orders", type = "bigint" },
        { name = "cents", type = "bigint" },
      ]
    }
    customer_orders = {
      description = "One row per order or return of each customer (one per customer, type and order id, the earliest): time, cents, units, country."
      columns = [
        { name = "customer_id", type = "string" },
        { name = "type", type = "string" },
        { name = "order_id", type = "string" },
        { name = "occurred_at", type = "timestamp" },
        { name = "cents", type = "bigint" },
        { name = "units", type = "double" },
        { name = "country", type = "string" },
      ]
    }
    product_daily_sales = {
      description = "Orders per product, line category and UTC day: units, priced units, revenue in cents."
      columns = [
        { name = "product_id", type = "string" },
        { name = "category_id", type = "string" },
        { name = "day", type = "date" },
        { name = "units", type = "double" },
        { name = "priced_units", type = "double" },
        { name = "cents", type = "bigint" },
      ]
    }
    daily_totals = {
      description = "Order lines per UTC day (orders and returns)."
      columns = [
        { name = "day", type = "date" },
        { name = "lines", type = "bigint" },
      ]
    }
  }
}

# Created empty at their root location; the curation's first run points each at its rebuild
# under versions/<table>/<run>/ (ALTER TABLE ... SET LOCATION), and every later run swaps in a new one.
resource "aws_glue_catalog_table" "summary" {
  for_each      = local.summary_tables
  name          = each.key
  database_name = aws_glue_catalog_database.lake.name
  description   = "${each.value.description} Parquet, rebuilt by the curation."
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    EXTERNAL              = "TRUE"
    classification        = "parquet"
    "parquet.compression" = "SNAPPY"
  }

  storage_descriptor {
    location      = "${local.curated_root}/${each.key}/"
    input_format  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

    ser_de_info {
      serialization_library = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
      parameters = {
        "serialization.format" = "1"
      }
    }

    dynamic "columns" {
      for_each = each.value.columns
      content {
        name = columns.value.name
        type = columns.value.type
      }
    }
  }

  # The curation moves the location to each rebuild; an apply must not point it back at the empty root.
  lifecycle {
    ignore_changes = [storage_descriptor[0].location]
  }
}
