-- The owner's questions (DOMAIN.md section 3): the market a purchase belongs to, the market
-- estimates the business records, the tenant's analytics settings, and the indexes the
-- analytics read purchases, payments and interactions by.

-- The market of a purchase: a zone and a product line, short lowercased labels (null: not
-- attributed). Market share counts the revenue of purchases whose zone (and line) match an
-- estimate's.
ALTER TABLE purchases
    ADD COLUMN market_zone  text CHECK (market_zone = lower(btrim(market_zone)) AND market_zone <> ''),
    ADD COLUMN product_line text CHECK (product_line = lower(btrim(product_line)) AND product_line <> '');

CREATE INDEX purchases_market ON purchases (market_zone, purchased_on) INCLUDE (product_line, amount, buyer_id)
    WHERE market_zone IS NOT NULL;

-- What the business knows of its market (demande effective: what the market buys, ours and
-- competitors'; demande potentielle: that plus what relative non-consumers would buy), per
-- zone, product line (null: every line) and period. Euros; consumer counts are optional.
CREATE TABLE market_estimates (
    id                  uuid          PRIMARY KEY,
    market_zone         text          NOT NULL CHECK (market_zone = lower(btrim(market_zone)) AND market_zone <> ''),
    product_line        text          CHECK (product_line = lower(btrim(product_line)) AND product_line <> ''),
    period_start        date          NOT NULL,
    period_end          date          NOT NULL,
    effective_demand    numeric(16,2) NOT NULL CHECK (effective_demand > 0),
    potential_demand    numeric(16,2) NOT NULL,
    effective_consumers integer       CHECK (effective_consumers > 0),
    potential_consumers integer,
    source              text,
    note                text,
    created_at          timestamptz   NOT NULL DEFAULT now(),
    updated_at          timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT market_estimates_period CHECK (period_end >= period_start),
    CONSTRAINT market_estimates_potential CHECK (potential_demand >= effective_demand),
    CONSTRAINT market_estimates_potential_consumers CHECK (potential_consumers >= effective_consumers)
);

CREATE INDEX market_estimates_market ON market_estimates (market_zone, product_line, period_start);

-- The tenant's analytics settings: one row, made here, changed by PATCH /v1/analytics/settings.
CREATE TABLE analytics_settings (
    id                       bigint        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    singleton                boolean       NOT NULL DEFAULT true UNIQUE CHECK (singleton),
    -- Seniority: a client joins the inner circle after this many years.
    loyalty_years            integer       NOT NULL DEFAULT 3 CHECK (loyalty_years BETWEEN 1 AND 50),
    -- Pareto: warn when one client weighs more than this share of revenue or margin.
    pareto_warning_share     numeric(5,4)  NOT NULL DEFAULT 0.2 CHECK (pareto_warning_share > 0 AND pareto_warning_share <= 1),
    -- A purchase of unknown margin counts this share of its amount as margin.
    margin_rate_when_unknown numeric(5,4)  NOT NULL DEFAULT 0.3 CHECK (margin_rate_when_unknown BETWEEN 0 AND 1),
    -- Cost to serve (difficult clients), euros per event.
    cost_per_complaint       numeric(12,2) NOT NULL DEFAULT 20 CHECK (cost_per_complaint >= 0),
    cost_per_dispute         numeric(12,2) NOT NULL DEFAULT 150 CHECK (cost_per_dispute >= 0),
    cost_per_handling_hour   numeric(12,2) NOT NULL DEFAULT 40 CHECK (cost_per_handling_hour >= 0),
    cost_per_late_payment    numeric(12,2) NOT NULL DEFAULT 10 CHECK (cost_per_late_payment >= 0),
    cost_per_failed_payment  numeric(12,2) NOT NULL DEFAULT 50 CHECK (cost_per_failed_payment >= 0),
    cost_per_contact         numeric(12,2) NOT NULL DEFAULT 5 CHECK (cost_per_contact >= 0),
    updated_at               timestamptz   NOT NULL DEFAULT now()
);

INSERT INTO analytics_settings DEFAULT VALUES;

-- Analytics over a period read these by date, across clients: payments by due date and by
-- incident date, interactions by instant, complaints by opening date.
CREATE INDEX payments_due_on ON payments (due_on) INCLUDE (client_id, incident);
CREATE INDEX payments_incident_on ON payments (incident_on) INCLUDE (client_id, incident) WHERE incident_on IS NOT NULL;
CREATE INDEX interactions_occurred_at ON interactions (occurred_at) INCLUDE (client_id);
CREATE INDEX complaints_opened_on ON complaints (opened_on) INCLUDE (client_id, status, handling_minutes);
-- Period analytics (Pareto, RFM, difficult clients) read each purchase of the period once,
-- with its buyer and figures, from the index alone.
CREATE INDEX purchases_date_figures ON purchases (purchased_on) INCLUDE (buyer_id, amount, margin);
