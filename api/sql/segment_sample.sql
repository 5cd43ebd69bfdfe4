-- RFM (as customer_rfm) of a bounded, deterministic random sample of the customers: the 5,000
-- whose ids come first in the order of their MD5 (ties, impossible in practice, by id). The
-- segments are fitted on it; segment_summary then assigns every customer in SQL. 5,000 rows are
-- 5 GetQueryResults pages whatever the lake's size. The size is SEGMENT_SAMPLE_SIZE in
-- api/lake/segmentSql.ts (a test holds the two equal).
-- Parameters: as-of day 'YYYY-MM-DD' (prunes date partitions), the same day again (exact filter).
SELECT customer_id, last_order_day, frequency, monetary
FROM (
  SELECT
    customer_id,
    CAST(MAX(occurred_at) AS DATE) AS last_order_day,
    COUNT(DISTINCT order_id) AS frequency,
    CAST(SUM(CAST(round(quantity * unit_price * 100) AS BIGINT)) AS DOUBLE) / 100 AS monetary
  FROM {{orders}}
  WHERE type = 'order'
    AND "date" <= ?
    AND CAST(occurred_at AS DATE) <= CAST(? AS DATE)
  GROUP BY customer_id
) AS rfm
ORDER BY md5(to_utf8(customer_id)), customer_id
LIMIT 5000
