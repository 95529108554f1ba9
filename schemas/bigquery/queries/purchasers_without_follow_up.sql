-- Recent purchasers without a follow-up: consented active contacts who ordered in
-- the last 30 days and have had no email event (sent, open, click) since their
-- latest order.
WITH latest AS (
  SELECT contact_id, MAX(ordered_at) AS last_ordered_at, SUM(amount) AS spent
  FROM `${DATASET}.fact_order`
  WHERE contact_id IS NOT NULL
    AND ordered_at >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 30 DAY)
  GROUP BY contact_id
)
SELECT l.contact_id, l.last_ordered_at, l.spent
FROM latest l
JOIN `${DATASET}.dim_contact` c ON c.contact_id = l.contact_id
WHERE c.status = 'active'
  AND c.email_marketing_consent
  AND NOT EXISTS (
    SELECT 1 FROM `${DATASET}.fact_event` e
    WHERE e.contact_id = l.contact_id
      AND e.type IN ('email_sent', 'email_open', 'email_click', 'Email Delivered', 'Email Opened', 'Email Link Clicked')
      AND NOT IFNULL(e.machine, FALSE)
      AND e.occurred_at > l.last_ordered_at
  )
ORDER BY l.last_ordered_at DESC
