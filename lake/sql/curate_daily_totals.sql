-- One row per UTC day with any curated order line (orders and returns): the lake's date range and
-- the as-of day the segments count recency from, without reading the order lines.
SELECT CAST(occurred_at AS DATE) AS day,
       COUNT(*) AS lines
FROM {{orders}}
GROUP BY CAST(occurred_at AS DATE)
