-- Every order line (orders and returns) of every customer, by customer then time.
-- Parameters: none.
SELECT
  order_id,
  customer_id,
  product_id,
  category_id,
  quantity,
  unit_price,
  occurred_at,
  type,
  country
FROM {{orders}}
ORDER BY customer_id, occurred_at, order_id, product_id, quantity, unit_price, type, category_id NULLS LAST, country NULLS LAST
