-- A client's revision counts its changes; it is the ETag that PATCH checks with If-Match, so
-- two people editing one client cannot silently overwrite each other.
ALTER TABLE clients ADD COLUMN revision integer NOT NULL DEFAULT 1;
