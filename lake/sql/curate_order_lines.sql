-- The curated order lines of the raw days {{from}}..{{to}} (UTC days of occurredAt, the raw
-- partitions), as api/lake/lakeLayout.ts lays them out, the partition column `date` last (CTAS
-- partitioned_by). One event per (day, type, order id): Firehose delivers at least once, so one
-- event may sit in two objects. Copies are identical; of two different events sharing an id, the
-- one with the smallest occurredAt text, then customer id, is kept. Records the consumer would
-- dead-letter (malformed, keys missing, outside the event-time bounds) are left out here, at the
-- lake's door. Athena functions only; the DuckDB side defines the two it lacks
-- (from_iso8601_timestamp, sequence) and a list `cardinality` (lake/duckdbCurationTarget.ts).
SELECT r.orderid AS order_id,
       r.customerid AS customer_id,
       r.lines[l.i].productid AS product_id,
       r.lines[l.i].categoryid AS category_id,
       r.lines[l.i].quantity AS quantity,
       r.lines[l.i].unitprice AS unit_price,
       CAST(try(from_iso8601_timestamp(r.occurredat)) AT TIME ZONE 'UTC' AS timestamp) AS occurred_at,
       r.type AS type,
       r.country AS country,
       r.order_date AS "date"
FROM (
  SELECT orderid, customerid, occurredat, type, country, lines, order_date,
         ROW_NUMBER() OVER (PARTITION BY order_date, type, orderid ORDER BY occurredat, customerid) AS copy
  FROM {{raw}}
  WHERE order_date BETWEEN {{from}} AND {{to}}
    AND type IN ('order', 'return') AND orderid IS NOT NULL AND customerid IS NOT NULL AND cardinality(lines) > 0
    AND try(from_iso8601_timestamp(occurredat)) >= from_iso8601_timestamp({{earliest}})
    AND try(from_iso8601_timestamp(occurredat)) <= from_iso8601_timestamp({{latest}})
) r
CROSS JOIN UNNEST(sequence(1, cardinality(r.lines))) AS l (i)
WHERE r.copy = 1
  AND r.lines[l.i].productid IS NOT NULL AND r.lines[l.i].quantity > 0 AND r.lines[l.i].unitprice >= 0
