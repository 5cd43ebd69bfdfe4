-- Units sold per UTC day (orders only), over the days with sales, for a product, a category or the store.
-- From the curation's product_daily_sales (orders, one row per product, line category and day),
-- the same sums as over the order lines.
-- Parameters: product filter on (boolean), product id ('' when not filtering),
--             category filter on (boolean), category id ('' when not filtering).
-- The flags keep every parameter a typed non-null literal: no NULL-typed parameter, no sentinel value.
SELECT
  day AS order_day,
  SUM(units) AS units
FROM {{product_daily_sales}}
WHERE (? = FALSE OR product_id = ?)
  AND (? = FALSE OR category_id = ?)
GROUP BY day
ORDER BY order_day
