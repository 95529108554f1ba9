-- The raw lake as BigQuery external tables (production BigQuery; the emulator has
-- none: there, `starter lake load` loads one partition instead). One table per
-- source over gs://BUCKET/raw/<source>/dt=YYYY-MM-DD/hr=HH/*.ndjson.gz, partitioned
-- by the path's dt and hr (Hive layout): filter on dt to read only those days.
--
-- Replace PROJECT, RAW_DATASET and BUCKET. Put the tables in a dataset of their own
-- (e.g. kith_raw) with its own access: the lake holds raw personal data, the star
-- schema (dataset kith) none. Rows follow the bucket: an erasure rewrites objects
-- without the person's lines, retention deletes old partitions.
--
-- Columns are a lake line's (kith.LakeLine): received_at, source, request_id, ref,
-- verdict (accepted, duplicate, quarantined, failed), codes (the violations' codes
-- of what was quarantined), counts (a batch's records by verdict) and payload, the
-- body as it was sent (JSON; a body that was not JSON is a JSON string).

CREATE OR REPLACE EXTERNAL TABLE `PROJECT.RAW_DATASET.raw_tracking` (
  received_at TIMESTAMP, source STRING, request_id STRING, ref STRING, verdict STRING,
  codes ARRAY<STRING>, counts JSON, payload JSON
)
WITH PARTITION COLUMNS (dt DATE, hr STRING)
OPTIONS (format = 'NEWLINE_DELIMITED_JSON', compression = 'GZIP', require_hive_partition_filter = true,
  uris = ['gs://BUCKET/raw/tracking/*'], hive_partition_uri_prefix = 'gs://BUCKET/raw/tracking');

CREATE OR REPLACE EXTERNAL TABLE `PROJECT.RAW_DATASET.raw_forms` (
  received_at TIMESTAMP, source STRING, request_id STRING, ref STRING, verdict STRING,
  codes ARRAY<STRING>, counts JSON, payload JSON
)
WITH PARTITION COLUMNS (dt DATE, hr STRING)
OPTIONS (format = 'NEWLINE_DELIMITED_JSON', compression = 'GZIP', require_hive_partition_filter = true,
  uris = ['gs://BUCKET/raw/forms/*'], hive_partition_uri_prefix = 'gs://BUCKET/raw/forms');

CREATE OR REPLACE EXTERNAL TABLE `PROJECT.RAW_DATASET.raw_crm_webhook` (
  received_at TIMESTAMP, source STRING, request_id STRING, ref STRING, verdict STRING,
  codes ARRAY<STRING>, counts JSON, payload JSON
)
WITH PARTITION COLUMNS (dt DATE, hr STRING)
OPTIONS (format = 'NEWLINE_DELIMITED_JSON', compression = 'GZIP', require_hive_partition_filter = true,
  uris = ['gs://BUCKET/raw/crm_webhook/*'], hive_partition_uri_prefix = 'gs://BUCKET/raw/crm_webhook');

CREATE OR REPLACE EXTERNAL TABLE `PROJECT.RAW_DATASET.raw_crm_object` (
  received_at TIMESTAMP, source STRING, request_id STRING, ref STRING, verdict STRING,
  codes ARRAY<STRING>, counts JSON, payload JSON
)
WITH PARTITION COLUMNS (dt DATE, hr STRING)
OPTIONS (format = 'NEWLINE_DELIMITED_JSON', compression = 'GZIP', require_hive_partition_filter = true,
  uris = ['gs://BUCKET/raw/crm_object/*'], hive_partition_uri_prefix = 'gs://BUCKET/raw/crm_object');

CREATE OR REPLACE EXTERNAL TABLE `PROJECT.RAW_DATASET.raw_esp_webhook` (
  received_at TIMESTAMP, source STRING, request_id STRING, ref STRING, verdict STRING,
  codes ARRAY<STRING>, counts JSON, payload JSON
)
WITH PARTITION COLUMNS (dt DATE, hr STRING)
OPTIONS (format = 'NEWLINE_DELIMITED_JSON', compression = 'GZIP', require_hive_partition_filter = true,
  uris = ['gs://BUCKET/raw/esp_webhook/*'], hive_partition_uri_prefix = 'gs://BUCKET/raw/esp_webhook');

CREATE OR REPLACE EXTERNAL TABLE `PROJECT.RAW_DATASET.raw_import` (
  received_at TIMESTAMP, source STRING, request_id STRING, ref STRING, verdict STRING,
  codes ARRAY<STRING>, counts JSON, payload JSON
)
WITH PARTITION COLUMNS (dt DATE, hr STRING)
OPTIONS (format = 'NEWLINE_DELIMITED_JSON', compression = 'GZIP', require_hive_partition_filter = true,
  uris = ['gs://BUCKET/raw/import/*'], hive_partition_uri_prefix = 'gs://BUCKET/raw/import');
