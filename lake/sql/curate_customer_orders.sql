-- One row per order or return of every customer, from the live curated order lines: its time,
-- cents (summed per line in integer cents, as the state record counts them), units and country
-- (every line of an event carries the event's country, so MAX is that country; NULL when none).
-- One event per (customer, type, order id), as the stream's order-id memory keeps one: a producer
-- retry or a second Firehose delivery on another day carries the same type and id, and the
-- earliest event time is kept (copies with the same time are one event, already deduplicated by
-- curate_order_lines.sql). What the API rebuilds a lake customer's state from, by id.
SELECT customer_id,
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
) deduplicated
WHERE copy = 1
GROUP BY customer_id, type, order_id, occurred_at
