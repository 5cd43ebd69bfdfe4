-- One row per order or return of every customer: its time, cents (summed per line in integer
-- cents, as the state record counts them), units and country (every line of an event carries the
-- event's country, so MAX is that country; NULL when the event has none). Enough to rebuild every
-- customer's state record at a fraction of the rows of customer_order_lines.
-- Parameters: none.
-- From the curation's customer_orders (lake/sql/curate_customer_orders.sql): one event per
-- (customer, type, order id), the earliest, as the stream's order-id memory keeps one.
SELECT customer_id, type, order_id, occurred_at, cents, units, country
FROM {{customer_orders}}
ORDER BY customer_id, occurred_at, order_id, type
