-- The customers of a fitted segment model, assigned in SQL as segment_summary does (same CTEs),
-- with their RFM: the first "limit" customers in the order of the MD5 of their id, a deterministic
-- random sample that is the same on every call; one GetQueryResults page per 1,000 members.
-- From the curation's summaries, as segment_summary.
-- Parameters: as-of day twice (as segment_summary), then how many members (1..20,000).
WITH as_of AS (
  SELECT MAX(day) AS day
  FROM {{daily_totals}}
  WHERE day <= CAST(? AS DATE)
),
rfm AS (
  SELECT customer_id, last_order_day, orders AS frequency, cents
  FROM {{customer_summary}}
  WHERE last_order_day <= CAST(? AS DATE)
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
