-- Per customer, orders up to a day (inclusive): last order day, distinct orders, spend.
-- Recency is the caller's arithmetic (as-of day minus last_order_day): Athena allows parameters
-- only in WHERE, so the as-of day cannot appear in the select list.
-- Spend is summed in integer cents per line, then scaled back.
-- Parameters: as-of day 'YYYY-MM-DD' (prunes date partitions), the same day again (exact filter).
SELECT
  customer_id,
  CAST(MAX(occurred_at) AS DATE) AS last_order_day,
  COUNT(DISTINCT order_id) AS frequency,
  CAST(SUM(CAST(round(quantity * unit_price * 100) AS BIGINT)) AS DOUBLE) / 100 AS monetary
FROM {{orders}}
WHERE type = 'order'
  AND "date" <= ?
  AND CAST(occurred_at AS DATE) <= CAST(? AS DATE)
GROUP BY customer_id
ORDER BY customer_id
