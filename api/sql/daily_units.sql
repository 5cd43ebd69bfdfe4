-- Units sold per UTC day (orders only), over the days with sales, for a product, a category or the store.
-- Parameters: product filter on (boolean), product id ('' when not filtering),
--             category filter on (boolean), category id ('' when not filtering).
-- The flags keep every parameter a typed non-null literal: no NULL-typed parameter, no sentinel value.
SELECT
  CAST(occurred_at AS DATE) AS order_day,
  SUM(quantity) AS units
FROM {{orders}}
WHERE type = 'order'
  AND (? = FALSE OR product_id = ?)
  AND (? = FALSE OR category_id = ?)
GROUP BY CAST(occurred_at AS DATE)
ORDER BY order_day
