-- Satisfaction surveys (DOMAIN.md section 4): campaigns, the invitations they send, the
-- tokens of the public response page, the answers, and the tenant's survey rules.

-- The tenant's survey rules: one row, made here, changed by PATCH /v1/survey-settings.
CREATE TABLE survey_settings (
    id                        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    singleton                 boolean     NOT NULL DEFAULT true UNIQUE CHECK (singleton),
    -- Nobody is surveyed more than once per this many days, across all campaigns.
    min_days_between_surveys  integer     NOT NULL DEFAULT 90 CHECK (min_days_between_surveys BETWEEN 0 AND 3650),
    sender_name               text        CHECK (length(sender_name) BETWEEN 1 AND 100),
    reply_to                  text        CHECK (length(reply_to) BETWEEN 3 AND 254),
    updated_at                timestamptz NOT NULL DEFAULT now()
);

INSERT INTO survey_settings DEFAULT VALUES;

CREATE TABLE survey_campaigns (
    id                  uuid        PRIMARY KEY,
    name                text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    measure             text        NOT NULL CHECK (measure IN ('nps', 'csat', 'ces')),
    question_fr         text        NOT NULL CHECK (length(question_fr) BETWEEN 1 AND 500),
    question_en         text        CHECK (length(question_en) BETWEEN 1 AND 500),
    -- [{"type": "text" | "scale", "fr": "...", "en": "..." | null}], at most 5.
    extra_questions     jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(extra_questions) = 'array'),
    trigger             text        NOT NULL CHECK (trigger IN ('after_purchase', 'recurring', 'manual', 'exit')),
    delay_days          integer     CHECK (delay_days BETWEEN 0 AND 365),
    cron                text,
    audience_categories text[]      NOT NULL DEFAULT '{}',
    audience_kinds      text[]      NOT NULL DEFAULT '{}',
    audience_tags       text[]      NOT NULL DEFAULT '{}',
    audience_segment    text,
    ask                 text        NOT NULL DEFAULT 'buyer' CHECK (ask IN ('buyer', 'consumers', 'both')),
    active              boolean     NOT NULL DEFAULT true,
    reminder_after_days integer     CHECK (reminder_after_days BETWEEN 1 AND 90),
    lifetime_days       integer     NOT NULL DEFAULT 30 CHECK (lifetime_days BETWEEN 1 AND 365),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT survey_campaigns_delay CHECK ((trigger = 'after_purchase') = (delay_days IS NOT NULL)),
    CONSTRAINT survey_campaigns_cron CHECK ((trigger = 'recurring') = (cron IS NOT NULL))
);

-- What the purchase handler looks for.
CREATE INDEX survey_campaigns_active ON survey_campaigns (trigger) WHERE active;
-- One active exit campaign at a time: "the" exit survey.
CREATE UNIQUE INDEX survey_campaigns_one_exit ON survey_campaigns (trigger) WHERE active AND trigger = 'exit';

-- One invitation per (campaign, client, occasion). The occasion says why it was made:
-- 'purchase:<purchase id>', 'exit:<date>', 'manual:<send id>', 'wave:<date>'.
--
-- States: scheduled → sending → committing → sent → answered; or skipped (with its reason:
-- no_consent, surveyed_recently, no_email, unsubscribed), failed (with its reason: a
-- permanent refusal, or 'outcome unknown'). An invitation sent whose expires_at has passed is
-- expired (the state is written when the page or a job meets it; reads compute it).
-- `sending` is committed before the mail server is spoken to; `committing` right before the
-- final "." of SMTP DATA. A run that finds `sending` may send again (the server never took
-- the message); one that finds `committing` cannot know, and marks it failed rather than send
-- twice. The same protocol holds for the one reminder (reminder_state).
CREATE TABLE survey_invitations (
    id              uuid        PRIMARY KEY,
    campaign_id     uuid        NOT NULL REFERENCES survey_campaigns (id),
    client_id       uuid        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    occasion        text        NOT NULL CHECK (length(occasion) BETWEEN 1 AND 100),
    purchase_id     uuid        REFERENCES purchases (id) ON DELETE SET NULL,
    state           text        NOT NULL CHECK (state IN ('scheduled', 'sending', 'committing', 'sent', 'answered',
                                                          'expired', 'failed', 'skipped')),
    reason          text,
    send_at         timestamptz NOT NULL,
    -- Each delivery attempt's number: only the attempt that marked `sending` may commit.
    send_attempt    integer     NOT NULL DEFAULT 0,
    sent_at         timestamptz,
    expires_at      timestamptz,
    reminder_state  text        CHECK (reminder_state IN ('sending', 'committing', 'sent', 'failed', 'skipped')),
    reminder_reason text,
    reminder_attempt integer    NOT NULL DEFAULT 0,
    reminded_at     timestamptz,
    answered_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (campaign_id, client_id, occasion),
    CONSTRAINT survey_invitations_reason CHECK ((state IN ('skipped', 'failed')) = (reason IS NOT NULL))
);

-- "Surveyed recently": a client's invitations by when they went (or will go) out.
CREATE INDEX survey_invitations_client ON survey_invitations (client_id, (coalesce(sent_at, send_at)))
    WHERE state NOT IN ('skipped', 'failed');
-- Results: a campaign's invitations by sending time.
CREATE INDEX survey_invitations_campaign ON survey_invitations (campaign_id, sent_at) WHERE sent_at IS NOT NULL;

-- The tokens of the public page: only their SHA-256 is kept (hex). An invitation has one per email
-- sent (the invitation, the reminder), each valid until the invitation expires.
CREATE TABLE survey_tokens (
    token_hash    text        PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    invitation_id uuid        NOT NULL REFERENCES survey_invitations (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX survey_tokens_invitation ON survey_tokens (invitation_id);

-- One answer per invitation.
CREATE TABLE survey_answers (
    id            uuid        PRIMARY KEY,
    invitation_id uuid        NOT NULL UNIQUE REFERENCES survey_invitations (id) ON DELETE CASCADE,
    campaign_id   uuid        NOT NULL REFERENCES survey_campaigns (id),
    client_id     uuid        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    measure       text        NOT NULL CHECK (measure IN ('nps', 'csat', 'ces')),
    score         integer     NOT NULL CHECK (score BETWEEN 0 AND 10),
    comment       text        CHECK (length(comment) <= 4000),
    -- The extra questions' answers, in their order: a string, a 1-5 integer, or null.
    extra_answers jsonb       NOT NULL DEFAULT '[]',
    language      text        NOT NULL CHECK (language IN ('fr', 'en')),
    answered_at   timestamptz NOT NULL DEFAULT now()
);

-- The client's timeline and survey answers, newest first.
CREATE INDEX survey_answers_client ON survey_answers (client_id, answered_at, id);
-- Results: a campaign's answers by date.
CREATE INDEX survey_answers_campaign ON survey_answers (campaign_id, answered_at, id);

-- Churn scoring reads survey answers through this view (0011 made it empty): a detractor NPS
-- or a low CSAT answer is now one of a client's churn reasons.
CREATE OR REPLACE VIEW churn_survey_answers AS
    SELECT client_id, measure, score, answered_at FROM survey_answers;
