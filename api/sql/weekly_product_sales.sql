-- Units and revenue per product and ISO week (weeks start on Monday), orders only, weeks with units > 0.
-- Free lines (unit price 0) are left out, as the retail protocol's cleaning does: they are no sale at a price.
-- Revenue is summed in integer cents per line (exact and order-independent), then scaled back.
-- Parameters: product filter on (boolean), product id ('' when not filtering),
--             category filter on (boolean), category id ('' when not filtering).
SELECT
  product_id,
  CAST(date_trunc('week', occurred_at) AS DATE) AS week_start,
  SUM(quantity) AS units,
  CAST(SUM(CAST(round(quantity * unit_price * 100) AS BIGINT)) AS DOUBLE) / 100 AS revenue
FROM {{orders}}
WHERE type = 'order'
  AND unit_price > 0
  AND (? = FALSE OR product_id = ?)
  AND (? = FALSE OR category_id = ?)
GROUP BY product_id, CAST(date_trunc('week', occurred_at) AS DATE)
HAVING SUM(quantity) > 0
ORDER BY product_id, week_start
