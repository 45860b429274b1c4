CREATE TABLE IF NOT EXISTS sessions (
    id TEXT NOT NULL,
    field TEXT NOT NULL,
    value BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (id, field)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at) WHERE field = '';
