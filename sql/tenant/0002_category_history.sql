-- Where a client stands changes over time, and every change is kept with its date, author and
-- reason (DOMAIN.md section 1). A relative non-consumer may carry the date its reason should
-- lift: past it, the client is due for follow-up.
ALTER TABLE clients
    ADD COLUMN category_reason text,
    ADD COLUMN category_since  timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN follow_up_on    date;

CREATE TABLE category_changes (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id     uuid        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    from_category text,
    to_category   text        NOT NULL,
    reason        text,
    author        text        NOT NULL,
    changed_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX category_changes_client ON category_changes (client_id, id);
CREATE INDEX clients_follow_up ON clients (follow_up_on) WHERE category = 'relative_non_consumer';

-- Clients that existed before start their history with the category they have.
UPDATE clients SET category_since = created_at;
INSERT INTO category_changes (client_id, from_category, to_category, author, changed_at)
SELECT id, NULL, category, 'migration', created_at FROM clients;
