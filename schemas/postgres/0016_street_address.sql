-- The street address (street and number; further lines joined by ", "),
-- standardized by quality.Address. Personal data: it is not loaded into BigQuery.
ALTER TABLE contacts ADD COLUMN address text;
