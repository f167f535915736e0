-- Delivery channels (issue 4 section 3): the tenant's own mail server, and the webhook channel
-- of survey invitations.

-- The tenant's SMTP server (PUT/GET/DELETE /v1/mail/settings): at most one row. No row: the
-- platform's server (CLIENTELE_SMTP_URL) sends the tenant's survey emails and alert digests.
-- The password is sealed with AES-GCM under the platform key (CLIENTELE_SECRET_KEY):
-- 'v1:<base64 of nonce, ciphertext and tag>', never the clear text.
CREATE TABLE mail_settings (
    id              bigint       GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    singleton       boolean      NOT NULL DEFAULT true UNIQUE CHECK (singleton),
    host            text         NOT NULL CHECK (host <> '' AND length(host) <= 253),
    port            integer      NOT NULL CHECK (port BETWEEN 1 AND 65535),
    security        text         NOT NULL CHECK (security IN ('none', 'startTLS', 'tls')),
    username        text         CHECK (length(username) <= 200),
    password_sealed text         CHECK (password_sealed LIKE 'v1:%'),
    from_address    text         NOT NULL CHECK (length(from_address) <= 254),
    from_name       text         CHECK (length(from_name) <= 200),
    updated_at      timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT mail_settings_password_needs_username CHECK (password_sealed IS NULL OR username IS NOT NULL)
);

-- How a campaign's invitations go: by email (the default), or POSTed to the tenant's signed
-- webhook (churn_settings.webhook_url and webhook_secret, the same as churn alerts) for a
-- business that sends SMS through its own gateway. A webhook invitation whose client has no
-- phone is skipped with the reason 'no_phone' (as an email one is 'no_email').
ALTER TABLE survey_campaigns
    ADD COLUMN channel text NOT NULL DEFAULT 'email' CHECK (channel IN ('email', 'webhook'));
