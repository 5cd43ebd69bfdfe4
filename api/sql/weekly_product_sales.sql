-- Units and revenue per product and ISO week (weeks start on Monday), orders only, weeks with units > 0.
-- Free lines (unit price 0) are left out, as the retail protocol's cleaning does: they are no sale at a price.
-- Revenue is summed in integer cents per line (exact and order-independent), then scaled back.
-- From the curation's product_daily_sales: priced_units and cents are the priced lines' sums per
-- day (a free line adds no cents), and a day with priced sales has priced_units > 0.
-- Parameters: product filter on (boolean), product id ('' when not filtering),
--             category filter on (boolean), category id ('' when not filtering).
SELECT
  product_id,
  CAST(date_trunc('week', day) AS DATE) AS week_start,
  SUM(priced_units) AS units,
  CAST(SUM(cents) AS DOUBLE) / 100 AS revenue
FROM {{product_daily_sales}}
WHERE priced_units > 0
  AND (? = FALSE OR product_id = ?)
  AND (? = FALSE OR category_id = ?)
GROUP BY product_id, CAST(date_trunc('week', day) AS DATE)
HAVING SUM(priced_units) > 0
ORDER BY product_id, week_start
