-- Recent purchasers without a follow-up: consented active contacts who ordered in
-- the last 30 days and have had no email event (sent, open, click) since their
-- latest order.
-- One pass over the three tables grouped by contact, instead of a join and a
-- correlated subquery: the same answer, and quick on the BigQuery emulator too.
WITH facts AS (
  SELECT contact_id, 'order' AS kind, ordered_at AS happened_at, amount
  FROM `${DATASET}.fact_order`
  WHERE contact_id IS NOT NULL
    AND ordered_at >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 30 DAY)
  UNION ALL
  SELECT contact_id, 'email', occurred_at, CAST(NULL AS NUMERIC)
  FROM `${DATASET}.fact_event`
  WHERE contact_id IS NOT NULL
    AND type IN ('email_sent', 'email_open', 'email_click', 'Email Delivered', 'Email Opened', 'Email Link Clicked')
    AND NOT IFNULL(machine, FALSE)
  UNION ALL
  SELECT contact_id, 'reachable', CAST(NULL AS TIMESTAMP), CAST(NULL AS NUMERIC)
  FROM `${DATASET}.dim_contact`
  WHERE status = 'active' AND email_marketing_consent
),
per_contact AS (
  SELECT
    contact_id,
    MAX(IF(kind = 'order', happened_at, NULL)) AS last_ordered_at,
    SUM(IF(kind = 'order', amount, NULL)) AS spent,
    MAX(IF(kind = 'email', happened_at, NULL)) AS last_email_at,
    LOGICAL_OR(kind = 'reachable') AS reachable
  FROM facts
  GROUP BY contact_id
)
SELECT contact_id, last_ordered_at, spent
FROM per_contact
WHERE reachable
  AND last_ordered_at IS NOT NULL
  AND (last_email_at IS NULL OR last_email_at <= last_ordered_at)
ORDER BY last_ordered_at DESC
