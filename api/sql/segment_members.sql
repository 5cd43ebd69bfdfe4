-- The customers of a fitted segment model, assigned in SQL as segment_summary does (same CTEs),
-- with their RFM: the first "limit" customers in the order of the MD5 of their id, a deterministic
-- random sample that is the same on every call; one GetQueryResults page per 1,000 members.
-- Parameters: as-of day twice, twice again (as segment_summary), then how many members (1..20,000).
WITH as_of AS (
  SELECT CAST(MAX(occurred_at) AS DATE) AS day
  FROM {{orders}}
  WHERE "date" <= ?
    AND CAST(occurred_at AS DATE) <= CAST(? AS DATE)
),
rfm AS (
  SELECT
    customer_id,
    CAST(MAX(occurred_at) AS DATE) AS last_order_day,
    COUNT(DISTINCT order_id) AS frequency,
    SUM(CAST(round(quantity * unit_price * 100) AS BIGINT)) AS cents
  FROM {{orders}}
  WHERE type = 'order'
    AND "date" <= ?
    AND CAST(occurred_at AS DATE) <= CAST(? AS DATE)
  GROUP BY customer_id
),
features AS (
  SELECT rfm.customer_id, date_diff('day', rfm.last_order_day, as_of.day) AS recency, rfm.frequency, rfm.cents, CAST(rfm.cents AS DOUBLE) / 100 AS monetary
  FROM rfm CROSS JOIN as_of
),
scaled AS (
  SELECT customer_id, recency, frequency, cents, monetary, {{scaled}}
  FROM features
),
distances AS (
  SELECT customer_id, recency, frequency, cents, monetary, {{distances}}
  FROM scaled
),
assigned AS (
  SELECT customer_id, recency, frequency, cents, monetary, {{nearest}} AS segment
  FROM distances
),
picked AS (
  SELECT customer_id, recency, frequency, monetary, segment,
    row_number() OVER (ORDER BY md5(to_utf8(customer_id)), customer_id) AS pick
  FROM assigned
)
SELECT customer_id, recency, frequency, monetary, segment
FROM picked
WHERE pick <= ?
ORDER BY pick
