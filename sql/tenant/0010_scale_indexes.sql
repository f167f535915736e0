-- Indexes found missing at scale (bench/scale.sh: 1,000,000 clients, 5,000,000 purchases).

-- ?city= lists in id order: the filter and the order from one index, so a city of a hundred
-- thousand clients returns its first page without sorting them all. Replaces the index on
-- fold(city) alone.
CREATE INDEX IF NOT EXISTS clients_city_id ON clients (extensions.fold(city), id);
DROP INDEX IF EXISTS clients_city;

-- Analytics that sum a client's purchases (acquisition, seniority) read amount and margin from
-- the index alone instead of one heap page per purchase.
CREATE INDEX IF NOT EXISTS purchases_buyer_figures ON purchases (buyer_id, purchased_on) INCLUDE (amount, margin);
