-- Synthetic star-schema source rows for the warehouse load's tests and benchmark:
-- :contacts contacts (every other one consented to email marketing), :events
-- events, :orders orders and :tickets tickets spread over them. Ids are derived
-- from the numbers, so seeding twice adds nothing.
INSERT INTO contacts (id, email, country, city, birth_date, completeness, status)
SELECT md5('contact' || g)::uuid, 'person' || g || '@example' || (g % 7) || '.com',
       (ARRAY['DE', 'FR', 'US', 'GB'])[g % 4 + 1], 'City ' || (g % 50), date '1950-01-01' + (g % 20000),
       g % 101, 'active'
FROM generate_series(1, :contacts) g
ON CONFLICT (id) DO NOTHING;

INSERT INTO consents (contact_id, purpose, status, text_version, source, source_ref, recorded_at)
SELECT md5('contact' || g)::uuid, 'email_marketing', 'granted', '2026-11-01', 'form', 'seed-' || g, now()
FROM generate_series(1, :contacts, 2) g
ON CONFLICT DO NOTHING;

INSERT INTO events (event_id, contact_id, type, source, occurred_at, properties)
SELECT 'seed-' || g, md5('contact' || (g % :contacts + 1))::uuid,
       (ARRAY['page_view', 'email_open', 'email_click', 'form_submit'])[g % 4 + 1], 'tracker',
       timestamptz '2026-11-01 00:00:00+00' + g * interval '1 minute', jsonb_build_object('n', g)
FROM generate_series(1, :events) g
ON CONFLICT (event_id) DO NOTHING;

INSERT INTO orders (id, contact_id, provider, external_id, amount_cents, currency, status, ordered_at)
SELECT md5('order' || g)::uuid, md5('contact' || (g % :contacts + 1))::uuid, 'hubspot', 'deal-' || g,
       1999 + g, 'EUR', 'closedwon', timestamptz '2026-10-01 00:00:00+00' + g * interval '1 hour'
FROM generate_series(1, :orders) g
ON CONFLICT (id) DO NOTHING;

INSERT INTO tickets (id, contact_id, provider, external_id, subject, status, opened_at)
SELECT md5('ticket' || g)::uuid, md5('contact' || (g % :contacts + 1))::uuid, 'hubspot', 'ticket-' || g,
       'Question ' || g, 'open', timestamptz '2026-10-01 00:00:00+00' + g * interval '1 day'
FROM generate_series(1, :tickets) g
ON CONFLICT (id) DO NOTHING;
