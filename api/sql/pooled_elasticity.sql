-- The sums a pooled (product fixed effects) log-log elasticity needs, in one row, for a category
-- or the store: the within-product regression computed where the data is, so the answer is one
-- row however many products and weeks the lake has.
-- Weekly rows as weekly_product_sales (orders, priced lines, weeks with units > 0 and revenue > 0,
-- from the curation's product_daily_sales);
-- eligible products as models/demand/elasticity.ts decides (at least 20 weeks and 3 distinct
-- weekly prices rounded half-to-even to cents: the constants are ELASTICITY_DEFAULTS there, a test
-- holds them equal); x = ln(price), y = ln(units), demeaned within each product (two passes, as
-- the model does); then Sxx, Sxy, Syy, the residual sum of squares about the pooled slope
-- b = Sxy / Sxx, and the clustered-variance "meat" Σ over products of (Sxy_g − b·Sxx_g)².
-- Parameters: product filter on (boolean), product id, category filter on (boolean), category id.
WITH weekly AS (
  SELECT
    product_id,
    SUM(priced_units) AS units,
    CAST(SUM(cents) AS DOUBLE) / 100 AS revenue
  FROM {{product_daily_sales}}
  WHERE priced_units > 0
    AND (? = FALSE OR product_id = ?)
    AND (? = FALSE OR category_id = ?)
  GROUP BY product_id, CAST(date_trunc('week', day) AS DATE)
  HAVING SUM(priced_units) > 0
),
priced AS (
  SELECT product_id, ln(revenue / units) AS x, ln(units) AS y, floor(revenue / units * 100) AS cents_floor, revenue / units * 100 AS cents
  FROM weekly
  WHERE revenue > 0
),
rounded AS (
  SELECT
    product_id,
    x,
    y,
    CASE
      WHEN cents - cents_floor > 0.5 THEN cents_floor + 1
      WHEN cents - cents_floor < 0.5 THEN cents_floor
      WHEN mod(cents_floor, 2) = 0 THEN cents_floor
      ELSE cents_floor + 1
    END AS price_cents
  FROM priced
),
eligible AS (
  SELECT product_id
  FROM rounded
  GROUP BY product_id
  HAVING COUNT(*) >= 20 AND COUNT(DISTINCT price_cents) >= 3
),
demeaned AS (
  SELECT
    rounded.product_id,
    x - AVG(x) OVER (PARTITION BY rounded.product_id) AS dx,
    y - AVG(y) OVER (PARTITION BY rounded.product_id) AS dy
  FROM rounded JOIN eligible ON rounded.product_id = eligible.product_id
),
per_product AS (
  SELECT product_id, COUNT(*) AS n, SUM(dx * dx) AS sxx, SUM(dx * dy) AS sxy, SUM(dy * dy) AS syy
  FROM demeaned
  GROUP BY product_id
),
totals AS (
  SELECT COUNT(*) AS products, SUM(n) AS n, SUM(sxx) AS sxx, SUM(sxy) AS sxy, SUM(syy) AS syy
  FROM per_product
),
residuals AS (
  SELECT SUM((dy - totals.sxy / totals.sxx * dx) * (dy - totals.sxy / totals.sxx * dx)) AS rss
  FROM demeaned CROSS JOIN totals
),
scores AS (
  SELECT SUM((per_product.sxy - totals.sxy / totals.sxx * per_product.sxx) * (per_product.sxy - totals.sxy / totals.sxx * per_product.sxx)) AS meat
  FROM per_product CROSS JOIN totals
),
everything AS (
  SELECT COUNT(DISTINCT product_id) AS products, COUNT(*) AS observations
  FROM rounded
)
SELECT
  everything.products AS all_products,
  everything.observations AS all_observations,
  totals.products AS products,
  totals.n AS observations,
  totals.sxx AS sxx,
  totals.sxy AS sxy,
  totals.syy AS syy,
  residuals.rss AS rss,
  scores.meat AS meat
FROM everything CROSS JOIN totals CROSS JOIN residuals CROSS JOIN scores
