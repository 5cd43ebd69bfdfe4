-- The 1,000 best-selling products over the whole lake (the largest limit the API takes), by units, then
-- id: as product_sales, plus how many products have priced sales in all ("products", the same on
-- every row). Bounded at one GetQueryResults page whatever the number of products.
-- Parameters: none.
SELECT product_id, category_id, units, revenue, weeks, products
FROM (
  SELECT
    product_id,
    MAX(category_id) AS category_id,
    SUM(quantity) AS units,
    CAST(SUM(CAST(round(quantity * unit_price * 100) AS BIGINT)) AS DOUBLE) / 100 AS revenue,
    COUNT(DISTINCT CAST(date_trunc('week', occurred_at) AS DATE)) AS weeks,
    COUNT(*) OVER () AS products
  FROM {{orders}}
  WHERE type = 'order'
    AND unit_price > 0
  GROUP BY product_id
) AS sales
ORDER BY units DESC, product_id
LIMIT 1000
