-- Engagement by completeness band: events per active contact in the last 30 days
-- (machine events — privacy-proxy opens, scanner clicks — left out). Do fuller
-- profiles engage more?
WITH contacts AS (
  SELECT
    contact_id,
    CASE
      WHEN completeness >= 80 THEN 'high (80-100)'
      WHEN completeness >= 50 THEN 'medium (50-79)'
      ELSE 'low (0-49)'
    END AS completeness_band
  FROM `${DATASET}.dim_contact`
  WHERE status = 'active'
),
recent AS (
  SELECT contact_id, COUNT(*) AS events
  FROM `${DATASET}.fact_event`
  WHERE occurred_at >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 30 DAY)
    AND NOT IFNULL(machine, FALSE)
  GROUP BY contact_id
)
SELECT
  c.completeness_band,
  COUNT(*) AS contacts,
  SUM(IFNULL(r.events, 0)) AS events_30d,
  ROUND(SUM(IFNULL(r.events, 0)) / COUNT(*), 2) AS events_per_contact
FROM contacts c
LEFT JOIN recent r ON r.contact_id = c.contact_id
GROUP BY c.completeness_band
ORDER BY c.completeness_band
