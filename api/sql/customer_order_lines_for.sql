-- Order lines (orders and returns) of up to 100 customers, by customer then time.
-- Parameters: 100 customer ids; a shorter list repeats its last id (duplicates in IN are harmless),
-- so the text never changes with the number of ids.
-- One event per (customer, type, order id), as the stream's order-id memory keeps one: a
-- producer retry or a second Firehose delivery on another day carries the same type and id, and
-- the earliest event time is kept (copies with the same time are one event, already deduplicated
-- by the curation, lake/sql/curate_order_lines.sql).
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
FROM (
  SELECT order_id, customer_id, product_id, category_id, quantity, unit_price, occurred_at, type, country,
         DENSE_RANK() OVER (PARTITION BY customer_id, type, order_id ORDER BY occurred_at) AS copy
  FROM {{orders}}
  WHERE customer_id IN (
    ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
    ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
    ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
    ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
    ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
    ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
    ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
    ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
    ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
    ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
  )
) deduplicated
WHERE copy = 1
ORDER BY customer_id, occurred_at, order_id, product_id, quantity, unit_price, type, category_id NULLS LAST, country NULLS LAST
