-- Order lines per day of {{from}}..{{to}} in a curated table (the live one, or a staged rebuild).
SELECT "date", COUNT(*) AS lines
FROM {{orders}}
WHERE "date" BETWEEN {{from}} AND {{to}}
GROUP BY "date"
