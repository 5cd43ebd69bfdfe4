-- First and last UTC day with any order line (orders and returns); NULLs when the lake is empty.
-- From the curation's daily_totals (one row per day), not the order lines.
-- Parameters: none.
SELECT
  MIN(day) AS first_day,
  MAX(day) AS last_day
FROM {{daily_totals}}
