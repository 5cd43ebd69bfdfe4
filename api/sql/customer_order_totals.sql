-- One row per order or return of every customer: its time, cents (summed per line in integer
-- cents, as the state record counts them), units and country (every line of an event carries the
-- event's country, so MAX is that country; NULL when the event has none). Enough to rebuild every
-- customer's state record at a fraction of the rows of customer_order_lines.
-- Parameters: none.
SELECT
  customer_id,
  type,
  order_id,
  occurred_at,
  SUM(CAST(round(quantity * unit_price * 100) AS BIGINT)) AS cents,
  SUM(quantity) AS units,
  MAX(country) AS country
FROM {{orders}}
GROUP BY customer_id, type, order_id, occurred_at
ORDER BY customer_id, occurred_at, order_id, type
