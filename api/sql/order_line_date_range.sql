-- The lake's date range from the order lines themselves (orders and returns), for a lake whose
-- summaries are not built yet (api/lake/lakeQueriesSql.ts): the answer date_range.sql gives once
-- the curation has run. Also whether any line is an order, which the summaries hold.
-- Parameters: none.
SELECT
  CAST(MIN(occurred_at) AS DATE) AS first_day,
  CAST(MAX(occurred_at) AS DATE) AS last_day
FROM {{orders}}
