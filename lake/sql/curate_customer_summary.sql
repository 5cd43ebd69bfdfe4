-- One row per customer with an order, from the live curated order lines: the day of the last
-- order, distinct orders and spend (integer cents per line), exactly the RFM api/sql/customer_rfm.sql
-- computes from the lines. Recency is left to the query (as-of day minus last_order_day), so the
-- table does not go stale by the clock, only by new orders, which the next run adds.
SELECT customer_id,
       CAST(MAX(occurred_at) AS DATE) AS last_order_day,
       COUNT(DISTINCT order_id) AS orders,
       SUM(CAST(round(quantity * unit_price * 100) AS BIGINT)) AS cents
FROM {{orders}}
WHERE type = 'order'
GROUP BY customer_id
