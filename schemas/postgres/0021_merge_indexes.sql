-- A merge moves the merged contact's rows to its survivor, and the source
-- records a survivor holds are found through the contacts merged into it: both
-- look rows up by contact. Without these indexes every batch of merges read the
-- whole of contacts (through merged_into) and of orders, tickets, form
-- submissions and the outbox.
CREATE INDEX contacts_merged_into ON contacts (merged_into) WHERE merged_into IS NOT NULL;
CREATE INDEX orders_contact ON orders (contact_id);
CREATE INDEX tickets_contact ON tickets (contact_id);
CREATE INDEX form_submissions_contact ON form_submissions (contact_id);
CREATE INDEX outbox_contact ON outbox (contact_id);
