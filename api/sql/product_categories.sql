-- Categories by units sold (orders, priced lines), each product counted once under the greatest
-- category its lines name (as product_sales): how many products, how many units. At most 1,000
-- categories (one page); a shop with more sees its 1,000 largest.
-- Parameters: none.
SELECT category_id, COUNT(*) AS products, SUM(units) AS units
FROM (
  SELECT product_id, MAX(category_id) AS category_id, SUM(priced_units) AS units
  FROM {{product_daily_sales}}
  WHERE priced_units > 0
  GROUP BY product_id
) AS sales
WHERE category_id IS NOT NULL
GROUP BY category_id
ORDER BY units DESC, category_id
LIMIT 1000
