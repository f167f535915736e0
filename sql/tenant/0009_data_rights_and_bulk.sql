-- Data rights: a client whose personal data was erased keeps its row (id, kind, category,
-- dates, amounts), so revenue, Pareto and cohorts stay true, and is marked with the date.
ALTER TABLE clients ADD COLUMN erased_at timestamptz;

-- An erased record can no longer be changed by anyone: every change made through the API
-- (update, merge into it, import) moves its revision, so that is what is refused here, whatever
-- path it comes by. Derived columns (first and last purchase dates) still follow purchases.
CREATE FUNCTION clients_erased_are_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'client % was erased: its record can no longer be changed', OLD.id
        USING ERRCODE = 'check_violation';
END $$;

CREATE TRIGGER clients_erased_frozen BEFORE UPDATE ON clients
    FOR EACH ROW WHEN (OLD.erased_at IS NOT NULL AND NEW.revision <> OLD.revision)
    EXECUTE FUNCTION clients_erased_are_frozen();
