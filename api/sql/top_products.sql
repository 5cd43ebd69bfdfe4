-- The 1,000 best-selling products over the whole lake (the largest limit the API takes), by units, then
-- id: as product_sales, plus how many products have priced sales in all ("products", the same on
-- every row). Bounded at one GetQueryResults page whatever the number of products.
-- Parameters: none.
SELECT product_id, category_id, units, revenue, weeks, products
FROM (
  SELECT
    product_id,
    MAX(category_id) AS category_id,
    SUM(priced_units) AS units,
    CAST(SUM(cents) AS DOUBLE) / 100 AS revenue,
    COUNT(DISTINCT CAST(date_trunc('week', day) AS DATE)) AS weeks,
    COUNT(*) OVER () AS products
  FROM {{product_daily_sales}}
  WHERE priced_units > 0
  GROUP BY product_id
) AS sales
ORDER BY units DESC, product_id
LIMIT 1000
