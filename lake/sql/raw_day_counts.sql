-- Per raw day of {{from}}..{{to}}: the events the curation takes (the same filter as
-- curate_order_lines.sql) and how many distinct (type, order id) they hold; the difference is the
-- duplicates dropped. The type has no ':', so the key is unambiguous.
SELECT order_date AS "date",
       COUNT(*) AS events,
       COUNT(DISTINCT concat(type, ':', orderid)) AS distinct_events
FROM {{raw}}
WHERE order_date BETWEEN {{from}} AND {{to}}
  AND type IN ('order', 'return') AND orderid IS NOT NULL AND customerid IS NOT NULL AND cardinality(lines) > 0
  AND try(from_iso8601_timestamp(occurredat)) >= from_iso8601_timestamp({{earliest}})
  AND try(from_iso8601_timestamp(occurredat)) <= from_iso8601_timestamp({{latest}})
GROUP BY order_date
