-- Whether the curation's summary tables are built: a lake curated before them has order lines
-- and empty summaries (api/lake/lakeQueriesSql.ts answers 503 until the next curation run).
-- Counts only (no column read): Parquet footers answer them.
-- Parameters: none.
SELECT
  (SELECT COUNT(*) FROM {{orders}}) AS lines,
  (SELECT COUNT(*) FROM {{daily_totals}}) AS days,
  (SELECT COUNT(*) FROM {{customer_summary}}) AS customers,
  (SELECT COUNT(*) FROM {{product_daily_sales}}) AS product_days
