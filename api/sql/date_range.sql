-- First and last UTC day with any order line (orders and returns); NULLs when the lake is empty.
-- Parameters: none.
SELECT
  CAST(MIN(occurred_at) AS DATE) AS first_day,
  CAST(MAX(occurred_at) AS DATE) AS last_day
FROM {{orders}}
