-- RFM (as customer_rfm) of a bounded, deterministic random sample of the customers: the 5,000
-- whose ids come first in the order of their MD5 (ties, impossible in practice, by id). The
-- segments are fitted on it; segment_summary then assigns every customer in SQL. 5,000 rows are
-- 5 GetQueryResults pages whatever the lake's size. The size is SEGMENT_SAMPLE_SIZE in
-- api/lake/segmentSql.ts (a test holds the two equal).
-- From the curation's customer_summary (RFM over all of the lake's orders: the as-of day is the
-- lake's last day, as segment_summary).
-- Parameters: as-of day 'YYYY-MM-DD'.
SELECT customer_id, last_order_day, orders AS frequency, CAST(cents AS DOUBLE) / 100 AS monetary
FROM {{customer_summary}}
WHERE last_order_day <= CAST(? AS DATE)
ORDER BY md5(to_utf8(customer_id)), customer_id
LIMIT 5000
