-- Phone type and extension, derived when the phone is standardized to E.164, and the
-- age a person gave when no birth date is known (imputation fills it too).
ALTER TABLE contacts
    ADD COLUMN phone_type      text,
    ADD COLUMN phone_extension text,
    ADD COLUMN age             smallint CHECK (age BETWEEN 0 AND 150);
