-- Orders and returns of up to 100 customers, one row per event: time, cents (summed per line in
-- integer cents), units and country (the event's, on every line: MAX is that country, or NULL).
-- Parameters: 100 customer ids; a shorter list repeats its last id (duplicates in IN are harmless),
-- so the text never changes with the number of ids.
-- From the curation's customer_orders (lake/sql/curate_customer_orders.sql): one event per
-- (customer, type, order id), the earliest, as the stream's order-id memory keeps one; sorted by
-- customer, so Athena reads the row groups of these customers, not the order lines.
SELECT customer_id, type, order_id, occurred_at, cents, units, country
FROM {{customer_orders}}
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
ORDER BY customer_id, occurred_at, order_id, type
