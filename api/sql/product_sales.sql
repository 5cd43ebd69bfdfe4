-- Sales per product over the whole lake, orders only, free lines left out (as weekly_product_sales):
-- its category (the greatest one its lines name), units, revenue in integer cents per line, and the
-- number of weeks with sales. The dashboard's product picker and price defaults come from it.
SELECT
  product_id,
  MAX(category_id) AS category_id,
  SUM(priced_units) AS units,
  CAST(SUM(cents) AS DOUBLE) / 100 AS revenue,
  COUNT(DISTINCT CAST(date_trunc('week', day) AS DATE)) AS weeks
FROM {{product_daily_sales}}
WHERE priced_units > 0
GROUP BY product_id
ORDER BY product_id
