-- The warehouse load's source: one view per BigQuery star-schema table, in schema
-- "warehouse". A view's columns are the BigQuery table's columns (a column added
-- here appears in BigQuery after the next load; nothing reaches analysts without
-- being named here, so raw PII cannot leak by accident), plus changed_at, the
-- watermark.
--
-- changed_at is when Kith last wrote the row, set by a trigger on every insert and
-- update. It is not updated_at, which for imported and CRM rows is the source's
-- own modification time and can lie in the past of a load already done.
CREATE FUNCTION kith_touch_changed_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.changed_at := clock_timestamp();
    RETURN NEW;
END $$;

ALTER TABLE contacts ADD COLUMN changed_at timestamptz NOT NULL DEFAULT clock_timestamp();
ALTER TABLE events   ADD COLUMN changed_at timestamptz NOT NULL DEFAULT clock_timestamp();
ALTER TABLE orders   ADD COLUMN changed_at timestamptz NOT NULL DEFAULT clock_timestamp();
ALTER TABLE tickets  ADD COLUMN changed_at timestamptz NOT NULL DEFAULT clock_timestamp();
CREATE INDEX contacts_changed_at ON contacts (changed_at);
CREATE INDEX events_changed_at   ON events (changed_at);
CREATE INDEX orders_changed_at   ON orders (changed_at);
CREATE INDEX tickets_changed_at  ON tickets (changed_at);
CREATE TRIGGER contacts_changed_at BEFORE INSERT OR UPDATE ON contacts FOR EACH ROW EXECUTE FUNCTION kith_touch_changed_at();
CREATE TRIGGER events_changed_at   BEFORE INSERT OR UPDATE ON events   FOR EACH ROW EXECUTE FUNCTION kith_touch_changed_at();
CREATE TRIGGER orders_changed_at   BEFORE INSERT OR UPDATE ON orders   FOR EACH ROW EXECUTE FUNCTION kith_touch_changed_at();
CREATE TRIGGER tickets_changed_at  BEFORE INSERT OR UPDATE ON tickets  FOR EACH ROW EXECUTE FUNCTION kith_touch_changed_at();

-- A consent decision changes the contact's warehouse row (email_marketing_consent).
CREATE FUNCTION kith_touch_contact() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE contacts SET changed_at = clock_timestamp() WHERE id = NEW.contact_id;
    RETURN NULL;
END $$;
CREATE TRIGGER consents_touch_contact AFTER INSERT OR UPDATE ON consents FOR EACH ROW EXECUTE FUNCTION kith_touch_contact();

CREATE SCHEMA warehouse;

-- Grain: contact. Only the email's domain leaves PostgreSQL.
CREATE VIEW warehouse.dim_contact AS
SELECT c.id::text AS contact_id,
       NULLIF(split_part(c.email, '@', 2), '') AS email_domain,
       c.country::text AS country,
       c.city,
       extract(year FROM c.birth_date)::integer AS birth_year,
       c.completeness::integer AS completeness,
       c.status,
       COALESCE((SELECT k.status = 'granted' FROM consents k
                 WHERE k.contact_id = c.id AND k.purpose = 'email_marketing'
                 ORDER BY k.recorded_at DESC, k.id DESC LIMIT 1), false) AS email_marketing_consent,
       c.created_at,
       c.updated_at,
       c.changed_at
FROM contacts c;

-- Grain: event.
CREATE VIEW warehouse.fact_event AS
SELECT e.event_id,
       e.contact_id::text AS contact_id,
       e.type,
       e.source,
       e.occurred_at,
       e.received_at,
       e.properties::text AS properties,
       e.changed_at
FROM events e;

-- Grain: order (CRM deal). Amounts in currency units.
CREATE VIEW warehouse.fact_order AS
SELECT o.id::text AS order_id,
       o.contact_id::text AS contact_id,
       o.provider,
       (o.amount_cents::numeric / 100) AS amount,
       o.currency::text AS currency,
       o.status,
       o.ordered_at,
       o.updated_at,
       o.changed_at
FROM orders o;

-- Grain: support ticket. The subject stays out (free text, may hold PII).
CREATE VIEW warehouse.fact_ticket AS
SELECT t.id::text AS ticket_id,
       t.contact_id::text AS contact_id,
       t.provider,
       t.status,
       t.opened_at,
       t.closed_at,
       t.updated_at,
       t.changed_at
FROM tickets t;
