-- What every backfill of a provider has stored, committed with each page: a
-- backfill's summary is the difference between its end and its start, exact even
-- when a worker died after committing pages it never reported.
ALTER TABLE crm_cursors
    ADD COLUMN pages       bigint NOT NULL DEFAULT 0,
    ADD COLUMN contacts    bigint NOT NULL DEFAULT 0,
    ADD COLUMN quarantined bigint NOT NULL DEFAULT 0;
