-- Whether any product of the products table is in a category.
-- Parameters: category id.
SELECT COUNT(*) AS matches
FROM {{products}}
WHERE category_id = ?
