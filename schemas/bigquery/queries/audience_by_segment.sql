-- Consented, reachable audience by segment: active contacts who granted email
-- marketing consent and have an email, by country and completeness band.
SELECT
  IFNULL(country, '??') AS country,
  CASE
    WHEN completeness >= 80 THEN 'high (80-100)'
    WHEN completeness >= 50 THEN 'medium (50-79)'
    ELSE 'low (0-49)'
  END AS completeness_band,
  COUNT(*) AS contacts
FROM `${DATASET}.dim_contact`
WHERE status = 'active'
  AND email_marketing_consent
  AND email_domain IS NOT NULL
GROUP BY country, completeness_band
ORDER BY country, completeness_band
