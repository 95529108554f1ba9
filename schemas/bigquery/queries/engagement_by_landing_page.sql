-- Engagement by page for known contacts, last 30 days: how long people were
-- engaged on each page and how far down they scrolled (tracker.js pings and
-- scroll-depth events; machine events left out).
WITH per_contact AS (
  SELECT
    page_path,
    contact_id,
    SUM(IF(type = 'Engaged Time', CAST(JSON_VALUE(properties, '$.seconds') AS INT64), 0)) AS engaged_seconds,
    MAX(IF(type = 'Scroll Depth', CAST(JSON_VALUE(properties, '$.percent') AS INT64), 0)) AS max_scroll
  FROM `${DATASET}.fact_event`
  WHERE contact_id IS NOT NULL
    AND page_path IS NOT NULL
    AND NOT IFNULL(machine, FALSE)
    AND occurred_at >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 30 DAY)
  GROUP BY page_path, contact_id
)
SELECT
  page_path,
  COUNT(*) AS contacts,
  SUM(engaged_seconds) AS engaged_seconds,
  ROUND(AVG(max_scroll), 1) AS avg_max_scroll_percent
FROM per_contact
GROUP BY page_path
ORDER BY engaged_seconds DESC, page_path
