CREATE TABLE IF NOT EXISTS sessions (
    id TEXT NOT NULL,
    field TEXT NOT NULL,
    value BYTEA NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (id, field)
);
CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at) WHERE field = '';
