-- Every customer's RFM as of a day, assigned in SQL to the nearest centroid of a fitted segment
-- model (log1p, then the model's scaler, then squared distances; the first of equal distances
-- wins, as in models/segmentation), and only per-segment sizes and sums returned (integers, so
-- exact in any order of summation; the caller divides): at most 12 rows.
-- The model's numbers are generated text (api/lake/segmentSql.ts): {{scaled}} the z-scores
-- zr, zf, zm; {{distances}} d0..d(k-1); {{nearest}} the segment.
-- Recency is days from the last order to the as-of day, the lake's last day with any line.
-- From the curation's summaries: customer_summary holds each customer's RFM over all of the lake's
-- orders, so the as-of day is the lake's last day (what the segments service asks); the filter
-- only keeps a customer whose last order is after an earlier as-of day out, never truncates one.
-- Parameters: as-of day (the as-of day, from daily_totals), as-of day (the RFM).
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
)
SELECT
  segment,
  COUNT(*) AS size,
  SUM(recency) AS recency_days,
  SUM(frequency) AS orders,
  SUM(cents) AS cents
FROM assigned
GROUP BY segment
ORDER BY segment
