-- Whether the products table knows a product.
-- Parameters: product id.
SELECT COUNT(*) AS matches
FROM {{products}}
WHERE product_id = ?
