-- A client may be assigned to a user of the business: an agent sees their own clients only.
-- Users live in the platform catalogue, so this is a plain uuid, not a foreign key.
ALTER TABLE clients ADD COLUMN assigned_user_id uuid;
CREATE INDEX clients_assigned_user ON clients (assigned_user_id, id) WHERE assigned_user_id IS NOT NULL;

-- Who did what, when, to which record, with the before and after values of the fields that
-- changed: {"field": {"before": ..., "after": ...}}. Written in the transaction of the change
-- itself; the API only reads it.
CREATE TABLE audit_log (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text        NOT NULL,
    action      text        NOT NULL,
    entity      text        NOT NULL,
    entity_id   text        NOT NULL,
    changes     jsonb       NOT NULL DEFAULT '{}'
);

CREATE INDEX audit_log_entity ON audit_log (entity, entity_id, id);

-- Entries are never changed once written; erasing a client (data rights) is the one exception
-- and says so for its own transaction with `clientele.erasing`.
CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('clientele.erasing', true) = 'on' THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
