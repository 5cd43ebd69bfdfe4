-- Sales per product over the whole lake, orders only, free lines left out (as weekly_product_sales):
-- its category (the greatest one its lines name), units, revenue in integer cents per line, and the
-- number of weeks with sales. The dashboard's product picker and price defaults come from it.
SELECT
  product_id,
  MAX(category_id) AS category_id,
  SUM(quantity) AS units,
  CAST(SUM(CAST(round(quantity * unit_price * 100) AS BIGINT)) AS DOUBLE) / 100 AS revenue,
  COUNT(DISTINCT CAST(date_trunc('week', occurred_at) AS DATE)) AS weeks
FROM {{orders}}
WHERE type = 'order'
  AND unit_price > 0
GROUP BY product_id
ORDER BY product_id
