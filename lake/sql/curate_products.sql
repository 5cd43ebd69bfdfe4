-- One row per product of the curated order lines, with the category of its latest line that has
-- one (NULL when none has), as `lake build` has always derived it: a product first seen on the
-- stream is known to the API (no 404) once its day is curated.
SELECT product_id, category_id
FROM (
  SELECT product_id,
         category_id,
         ROW_NUMBER() OVER (PARTITION BY product_id ORDER BY category_id IS NULL, occurred_at DESC, category_id DESC) AS pick
  FROM {{orders}}
) ranked
WHERE pick = 1
