-- The reports that group clients by their first purchase (seniority's cohorts, conquest's new
-- and existing clients) read (first_purchase_on, id) for half a million clients. With the id in
-- the index they read it alone: 30-170 ms, where fetching each row from the table took 0.5 s
-- and hashing every client's first purchase 0.6 s.
DROP INDEX clients_first_purchase;
CREATE INDEX clients_first_purchase ON clients (first_purchase_on) INCLUDE (id) WHERE first_purchase_on IS NOT NULL;
