-- Around the purchase (DOMAIN.md sections 1 and 2): relationships between records, purchases
-- with their buyer, payer and consumers, interactions, complaints and payments, and the
-- indexes the client timeline reads them by (newest first, per client).
-- Ids are UUIDv7 made by the server, so id order is creation order.

-- One record's tie to another: from buys for / prescribes to / referred / is a member of /
-- influences to. A member of an organisation has a function and a buying-centre role.
CREATE TABLE relationships (
    id             uuid        PRIMARY KEY,
    from_client_id uuid        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    to_client_id   uuid        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    type           text        NOT NULL CHECK (type IN ('buys_for', 'prescribes_to', 'referred', 'member_of', 'influences')),
    function       text,
    buying_role    text        CHECK (buying_role IN ('decider', 'buyer', 'user', 'prescriber', 'influencer',
                                                      'technical_service', 'procurement_office', 'public_accountant')),
    since          date,
    until          date,
    note           text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT relationships_not_self CHECK (from_client_id <> to_client_id),
    CONSTRAINT relationships_member_fields CHECK (type = 'member_of' OR (function IS NULL AND buying_role IS NULL)),
    CONSTRAINT relationships_period CHECK (until IS NULL OR since IS NULL OR until >= since),
    CONSTRAINT relationships_once UNIQUE (from_client_id, to_client_id, type)
);

CREATE INDEX relationships_from_timeline ON relationships (from_client_id, created_at, id);
CREATE INDEX relationships_to_timeline ON relationships (to_client_id, created_at, id);

-- A purchase belongs to its buyer (deleted with them). payer_id is set only when someone else
-- pays (NULL: the buyer pays), so the payer index holds only those purchases; when that payer's
-- record is deleted, the purchase stays with its buyer as payer.
-- amount and margin are euros; with lines they are computed by the server.
CREATE TABLE purchases (
    id            uuid          PRIMARY KEY,
    buyer_id      uuid          NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    payer_id      uuid          REFERENCES clients (id) ON DELETE SET NULL CHECK (payer_id <> buyer_id),
    purchased_on  date          NOT NULL,
    channel       text          CHECK (channel IN ('in_store', 'phone', 'web', 'email', 'field_visit', 'marketplace', 'other')),
    purchase_type text          CHECK (purchase_type IN ('considered', 'impulse', 'repeat')),
    amount        numeric(14,2) NOT NULL CHECK (amount >= 0),
    margin        numeric(14,2),
    note          text,
    external_ref  text          CONSTRAINT purchases_external_ref_key UNIQUE,
    created_at    timestamptz   NOT NULL DEFAULT now(),
    updated_at    timestamptz   NOT NULL DEFAULT now()
);

-- By buyer and date: the timeline, first/last purchase, and the analytics to come (RFM,
-- cohorts); by date alone: revenue over a period. By another payer: the timeline and the
-- foreign key.
CREATE INDEX purchases_buyer_date ON purchases (buyer_id, purchased_on, id);
CREATE INDEX purchases_date ON purchases (purchased_on);
CREATE INDEX purchases_payer_date ON purchases (payer_id, purchased_on, id) WHERE payer_id IS NOT NULL;

-- What was bought, in order; amount and margin of the purchase are computed from them.
CREATE TABLE purchase_lines (
    id          bigint        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    purchase_id uuid          NOT NULL REFERENCES purchases (id) ON DELETE CASCADE,
    position    integer       NOT NULL,
    description text          NOT NULL,
    quantity    numeric(12,3) NOT NULL CHECK (quantity > 0),
    unit_price  numeric(14,2) NOT NULL CHECK (unit_price >= 0),
    unit_cost   numeric(14,2) CHECK (unit_cost >= 0),
    UNIQUE (purchase_id, position)
);

-- Who uses what was bought. purchased_on is copied from the purchase (kept equal by every
-- purchase write) so a consumer's timeline reads one index in date order.
CREATE TABLE purchase_consumers (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    purchase_id  uuid   NOT NULL REFERENCES purchases (id) ON DELETE CASCADE,
    client_id    uuid   NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    purchased_on date   NOT NULL,
    UNIQUE (purchase_id, client_id)
);

CREATE INDEX purchase_consumers_timeline ON purchase_consumers (client_id, purchased_on, purchase_id);

-- A contact with the client; author is who recorded it.
CREATE TABLE interactions (
    id           uuid        PRIMARY KEY,
    client_id    uuid        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    occurred_at  timestamptz NOT NULL,
    channel      text        NOT NULL CHECK (channel IN ('visit', 'phone', 'email', 'letter', 'video', 'social', 'event', 'other')),
    direction    text        CHECK (direction IN ('inbound', 'outbound')),
    subject      text        NOT NULL,
    outcome      text,
    next_step    text,
    next_step_on date,
    author       text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX interactions_timeline ON interactions (client_id, occurred_at, id);

-- Complaints and after-sales. A closed complaint (resolved or rejected) has its date;
-- handling_minutes is the time spent on it (the cost of serving a difficult client).
CREATE TABLE complaints (
    id               uuid        PRIMARY KEY,
    client_id        uuid        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    purchase_id      uuid        REFERENCES purchases (id) ON DELETE SET NULL,
    opened_on        date        NOT NULL,
    category         text        NOT NULL CHECK (category IN ('product_quality', 'delivery', 'billing', 'service', 'after_sales', 'other')),
    status           text        NOT NULL CHECK (status IN ('open', 'in_progress', 'resolved', 'rejected', 'disputed')),
    resolved_on      date,
    description      text,
    handling_minutes integer     NOT NULL DEFAULT 0 CHECK (handling_minutes >= 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT complaints_resolved_on CHECK ((resolved_on IS NOT NULL) = (status IN ('resolved', 'rejected'))),
    CONSTRAINT complaints_period CHECK (resolved_on IS NULL OR resolved_on >= opened_on)
);

CREATE INDEX complaints_opened_timeline ON complaints (client_id, opened_on, id);
CREATE INDEX complaints_resolved_timeline ON complaints (client_id, resolved_on, id) WHERE resolved_on IS NOT NULL;
CREATE INDEX complaints_purchase ON complaints (purchase_id) WHERE purchase_id IS NOT NULL;

-- What the client owes and pays. A payment paid after its due date is late; a rejected
-- payment or a litigation carries the date it happened.
CREATE TABLE payments (
    id            uuid          PRIMARY KEY,
    client_id     uuid          NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    purchase_id   uuid          REFERENCES purchases (id) ON DELETE SET NULL,
    amount        numeric(14,2) NOT NULL CHECK (amount > 0),
    due_on        date          NOT NULL,
    paid_on       date,
    means         text          CHECK (means IN ('card', 'cash', 'cheque', 'transfer', 'direct_debit', 'other')),
    incident      text          NOT NULL DEFAULT 'none' CHECK (incident IN ('none', 'late', 'rejected', 'litigation')),
    incident_on   date,
    incident_note text,
    created_at    timestamptz   NOT NULL DEFAULT now(),
    updated_at    timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT payments_incident_on CHECK ((incident_on IS NOT NULL) = (incident IN ('rejected', 'litigation')))
);

CREATE INDEX payments_due_timeline ON payments (client_id, due_on, id);
CREATE INDEX payments_paid_timeline ON payments (client_id, paid_on, id) WHERE paid_on IS NOT NULL;
CREATE INDEX payments_incident_timeline ON payments (client_id, incident_on, id) WHERE incident_on IS NOT NULL;
CREATE INDEX payments_purchase ON payments (purchase_id) WHERE purchase_id IS NOT NULL;

-- The timeline reads category changes by date too.
CREATE INDEX category_changes_timeline ON category_changes (client_id, changed_at, id);
