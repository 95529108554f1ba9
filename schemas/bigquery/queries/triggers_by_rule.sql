-- Trigger rules over the last 30 days: messages the ESP accepted, how many a
-- person opened and clicked (privacy-proxy opens and scanner clicks left out),
-- and how many were followed by an order within 7 days of the send.
WITH sends AS (
  SELECT delivery_id, contact_id, rule, sent_at
  FROM `${DATASET}.fact_delivery`
  WHERE outcome = 'accepted'
    AND sent_at >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 30 DAY)
),
engagement AS (
  SELECT
    JSON_VALUE(properties, '$.delivery_id') AS delivery_id,
    LOGICAL_OR(type = 'Email Opened') AS opened,
    LOGICAL_OR(type = 'Email Link Clicked') AS clicked
  FROM `${DATASET}.fact_event`
  WHERE source = 'esp'
    AND NOT IFNULL(machine, FALSE)
  GROUP BY delivery_id
),
converted AS (
  SELECT DISTINCT s.delivery_id
  FROM sends s
  JOIN `${DATASET}.fact_order` o
    ON o.contact_id = s.contact_id
   AND o.ordered_at >= s.sent_at
   AND o.ordered_at < TIMESTAMP_ADD(s.sent_at, INTERVAL 7 DAY)
)
SELECT
  s.rule,
  COUNT(*) AS sends,
  COUNTIF(IFNULL(e.opened, FALSE)) AS opened,
  COUNTIF(IFNULL(e.clicked, FALSE)) AS clicked,
  COUNTIF(c.delivery_id IS NOT NULL) AS ordered_within_7_days
FROM sends s
LEFT JOIN engagement e ON e.delivery_id = s.delivery_id
LEFT JOIN converted c ON c.delivery_id = s.delivery_id
GROUP BY s.rule
ORDER BY sends DESC, s.rule
