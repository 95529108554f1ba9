-- Personalization (the nightly Personalization workflow): each contact's RFM
-- scores from its orders (recency, frequency, monetary quintiles, 5 best) and
-- the segment they name; item-to-item recommendations from products bought
-- and viewed together, and the most popular products per country ('' for
-- everywhere) as their fallback.
ALTER TABLE contacts
    ADD COLUMN rfm_recency   smallint,
    ADD COLUMN rfm_frequency smallint,
    ADD COLUMN rfm_monetary  smallint,
    ADD COLUMN rfm_segment   text;

CREATE TABLE recommendations (
    product     text             NOT NULL,
    rank        smallint         NOT NULL,
    recommended text             NOT NULL,
    score       double precision NOT NULL,
    PRIMARY KEY (product, rank)
);

CREATE TABLE popular_products (
    country text     NOT NULL, -- '' for everywhere
    rank    smallint NOT NULL,
    product text     NOT NULL,
    PRIMARY KEY (country, rank)
);

-- dim_contact gains the segment (new columns go at the end: BigQuery appends them).
CREATE OR REPLACE VIEW warehouse.dim_contact AS
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
       c.changed_at,
       c.rfm_segment,
       c.rfm_recency::integer AS rfm_recency,
       c.rfm_frequency::integer AS rfm_frequency,
       c.rfm_monetary::integer AS rfm_monetary
FROM contacts c;
