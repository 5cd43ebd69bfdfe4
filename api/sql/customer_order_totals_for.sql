-- Orders and returns of up to 100 customers, one row per event: time, cents (summed per line in
-- integer cents), units and country (the event's, on every line: MAX is that country, or NULL).
-- Parameters: 100 customer ids; a shorter list repeats its last id (duplicates in IN are harmless),
-- so the text never changes with the number of ids.
-- One event per (customer, type, order id), as the stream's order-id memory keeps one: a
-- producer retry or a second Firehose delivery on another day carries the same type and id, and
-- the earliest event time is kept (copies with the same time are one event, already deduplicated
-- by the curation, lake/sql/curate_order_lines.sql).
SELECT
  customer_id,
  type,
  order_id,
  occurred_at,
  SUM(CAST(round(quantity * unit_price * 100) AS BIGINT)) AS cents,
  SUM(quantity) AS units,
  MAX(country) AS country
FROM (
  SELECT customer_id, type, order_id, occurred_at, quantity, unit_price, country,
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
GROUP BY customer_id, type, order_id, occurred_at
ORDER BY customer_id, occurred_at, order_id, type
