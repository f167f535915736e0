-- Churn risk and alerts (DOMAIN.md section 4, issue 4 section 4): each client's risk score with
-- its reasons and their history, the alerts raised when a score crosses the threshold, the
-- tenant's weights and thresholds, and the notifications sent about alerts.

-- The tenant's churn settings: one row, made here, changed by PATCH /v1/churn/settings.
-- Weights are points (0-100) added when a reason is present; the score is their sum, capped at
-- 100. The README lists each reason with its defaults.
CREATE TABLE churn_settings (
    id                        bigint       GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    singleton                 boolean      NOT NULL DEFAULT true UNIQUE CHECK (singleton),
    -- An alert is raised when a score goes from below this to at or above it.
    alert_threshold           integer      NOT NULL DEFAULT 50 CHECK (alert_threshold BETWEEN 1 AND 100),
    -- Detractor or low satisfaction: the client's latest NPS or CSAT answer of the last
    -- survey_window_days is at most these.
    weight_detractor          integer      NOT NULL DEFAULT 35 CHECK (weight_detractor BETWEEN 0 AND 100),
    nps_detractor_max         integer      NOT NULL DEFAULT 6 CHECK (nps_detractor_max BETWEEN 0 AND 10),
    csat_low_max              integer      NOT NULL DEFAULT 2 CHECK (csat_low_max BETWEEN 1 AND 5),
    survey_window_days        integer      NOT NULL DEFAULT 180 CHECK (survey_window_days BETWEEN 1 AND 3650),
    -- A complaint still open (open, in progress, disputed) this many days after it was opened.
    weight_open_complaint     integer      NOT NULL DEFAULT 25 CHECK (weight_open_complaint BETWEEN 0 AND 100),
    complaint_open_days       integer      NOT NULL DEFAULT 14 CHECK (complaint_open_days BETWEEN 0 AND 3650),
    -- A late or rejected payment or a litigation in the last payment_incident_days.
    weight_payment_incident   integer      NOT NULL DEFAULT 20 CHECK (weight_payment_incident BETWEEN 0 AND 100),
    payment_incident_days     integer      NOT NULL DEFAULT 180 CHECK (payment_incident_days BETWEEN 1 AND 3650),
    -- A repeat buyer (at least overdue_min_purchases purchases) whose days since the last
    -- purchase exceed their own median gap between purchases times overdue_factor.
    weight_overdue_buyer      integer      NOT NULL DEFAULT 35 CHECK (weight_overdue_buyer BETWEEN 0 AND 100),
    overdue_min_purchases     integer      NOT NULL DEFAULT 3 CHECK (overdue_min_purchases BETWEEN 2 AND 1000),
    overdue_factor            numeric(4,2) NOT NULL DEFAULT 1.5 CHECK (overdue_factor BETWEEN 1 AND 20),
    -- Spend of the last 12 months at most (1 - falling_spend_drop) of the 12 months before.
    weight_falling_spend      integer      NOT NULL DEFAULT 20 CHECK (weight_falling_spend BETWEEN 0 AND 100),
    falling_spend_drop        numeric(3,2) NOT NULL DEFAULT 0.5 CHECK (falling_spend_drop > 0 AND falling_spend_drop <= 1),
    -- No interaction for no_contact_days (a client younger than that is not counted).
    weight_no_contact         integer      NOT NULL DEFAULT 10 CHECK (weight_no_contact BETWEEN 0 AND 100),
    no_contact_days           integer      NOT NULL DEFAULT 365 CHECK (no_contact_days BETWEEN 1 AND 3650),
    -- Notifications: a webhook (signed with the secret, generated here and on request) and the
    -- daily digest email to each assigned user.
    webhook_url               text         CHECK (webhook_url ~ '^https?://'),
    webhook_secret            text         NOT NULL DEFAULT replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''),
    digest_email              boolean      NOT NULL DEFAULT true,
    -- When the whole client base was last scored.
    last_scored_at            timestamptz,
    updated_at                timestamptz  NOT NULL DEFAULT now()
);

INSERT INTO churn_settings DEFAULT VALUES;

-- A UUIDv7 made in SQL, for rows inserted set-based (alerts raised by a scoring run): the
-- millisecond clock in the first 48 bits, version 7, random bits (with the variant) from
-- gen_random_uuid.
CREATE FUNCTION churn_uuid7() RETURNS uuid LANGUAGE sql VOLATILE
    RETURN overlay(overlay(replace(gen_random_uuid()::text, '-', '')
                           PLACING lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') FROM 1 FOR 12)
                   PLACING '7' FROM 13 FOR 1)::uuid;

-- Survey answers the detractor reason reads: (client, measure 'nps' or 'csat', score, when).
-- Survey answers are not part of this schema yet, so the view holds no rows; the migration that
-- brings survey answers replaces it (CREATE OR REPLACE VIEW, same columns) to feed the reason.
CREATE VIEW churn_survey_answers AS
    SELECT NULL::uuid AS client_id, NULL::text AS measure, NULL::integer AS score, NULL::timestamptz AS answered_at
    WHERE false;

-- Each client's current score and its reasons: a row is written only when the score or the
-- reasons change (a client without a row has never had a reason: score 0). reasons is a list
-- of {"code", "points", ...facts}, strongest first.
CREATE TABLE churn_scores (
    client_id  uuid        PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
    score      smallint    NOT NULL CHECK (score BETWEEN 0 AND 100),
    reasons    jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(reasons) = 'array'),
    changed_at timestamptz NOT NULL DEFAULT now()
);

-- The client list's churn_risk filter reads the scores above a minimum.
CREATE INDEX churn_scores_score ON churn_scores (score) WHERE score > 0;

-- A row each time a client's score changes.
CREATE TABLE churn_score_history (
    id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id uuid        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    score     smallint    NOT NULL CHECK (score BETWEEN 0 AND 100),
    reasons   jsonb       NOT NULL DEFAULT '[]',
    at        timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX churn_score_history_client ON churn_score_history (client_id, id);

-- An alert: raised when a score crosses the threshold, handled by the business. open ->
-- acknowledged -> resolved (client kept) or lost (client left, with the exit reason). The score,
-- reasons and assignee are those of the moment it was raised.
CREATE TABLE churn_alerts (
    id               uuid        PRIMARY KEY,
    client_id        uuid        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    state            text        NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acknowledged', 'resolved', 'lost')),
    score            smallint    NOT NULL CHECK (score BETWEEN 0 AND 100),
    reasons          jsonb       NOT NULL DEFAULT '[]',
    assigned_user_id uuid,
    raised_at        timestamptz NOT NULL DEFAULT now(),
    acknowledged_at  timestamptz,
    acknowledged_by  text,
    closed_at        timestamptz,
    closed_by        text,
    exit_reason      text        CHECK (exit_reason IN ('price', 'quality', 'service', 'competitor', 'moved',
                                                        'business_closed', 'no_longer_needed', 'other')),
    note             text,
    revision         integer     NOT NULL DEFAULT 1,
    CONSTRAINT churn_alerts_exit_reason CHECK ((state = 'lost') = (exit_reason IS NOT NULL)),
    CONSTRAINT churn_alerts_closed CHECK ((state IN ('resolved', 'lost')) = (closed_at IS NOT NULL))
);

-- One pending (open or acknowledged) alert per client at a time.
CREATE UNIQUE INDEX churn_alerts_one_pending ON churn_alerts (client_id) WHERE state IN ('open', 'acknowledged');
-- Lists newest first, by state, by assignee, by client.
CREATE INDEX churn_alerts_state ON churn_alerts (state, id);
CREATE INDEX churn_alerts_assignee ON churn_alerts (assigned_user_id, id) WHERE assigned_user_id IS NOT NULL;
CREATE INDEX churn_alerts_client ON churn_alerts (client_id, id);

-- What was sent about alerts: a webhook per alert, a digest email per user and day. The
-- unique indexes make a notification job that runs twice send once.
CREATE TABLE churn_notifications (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel    text        NOT NULL CHECK (channel IN ('webhook', 'email_digest')),
    alert_id   uuid        REFERENCES churn_alerts (id) ON DELETE CASCADE,
    user_id    uuid,
    digest_on  date,
    alert_ids  uuid[]      NOT NULL DEFAULT '{}',
    target     text,
    status     text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'skipped')),
    detail     text,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at    timestamptz,
    CONSTRAINT churn_notifications_webhook CHECK ((channel = 'webhook') = (alert_id IS NOT NULL)),
    CONSTRAINT churn_notifications_digest CHECK ((channel = 'email_digest') = (user_id IS NOT NULL AND digest_on IS NOT NULL))
);

CREATE UNIQUE INDEX churn_notifications_webhook_once ON churn_notifications (alert_id) WHERE channel = 'webhook';
CREATE UNIQUE INDEX churn_notifications_digest_once ON churn_notifications (user_id, digest_on) WHERE channel = 'email_digest';
