CREATE TABLE IF NOT EXISTS sessions (
    id TEXT NOT NULL,
    field TEXT NOT NULL,
    value BYTEA NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (id, field)
);
CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at) WHERE field = '';
CREATE OR REPLACE FUNCTION sessions_touch(session_key TEXT, now_ms BIGINT, new_expiry BIGINT)
RETURNS BOOLEAN LANGUAGE sql VOLATILE AS $$
    WITH moved AS (UPDATE sessions SET expires_at = new_expiry
        WHERE id = session_key AND field = '' AND expires_at - now_ms > 0 RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM moved)
$$;
