-- Orders only, one row per (product, category of the line, UTC day) of the live curated order
-- lines: units of every line (free ones included, as daily_units counts them), units of the priced
-- lines (unit price > 0, the sales at a price the weekly, elasticity and product queries count)
-- and revenue in integer cents per line (a free line adds 0). The line's category stays a key, so
-- a category filter and MAX(category_id) per product give what they gave over the lines.
SELECT product_id,
       category_id,
       CAST(occurred_at AS DATE) AS day,
       SUM(quantity) AS units,
       SUM(CASE WHEN unit_price > 0 THEN quantity ELSE 0e0 END) AS priced_units,
       SUM(CAST(round(quantity * unit_price * 100) AS BIGINT)) AS cents
FROM {{orders}}
WHERE type = 'order'
GROUP BY product_id, category_id, CAST(occurred_at AS DATE)
