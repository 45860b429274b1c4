CREATE TABLE IF NOT EXISTS sessions (
    id VARBINARY(128) NOT NULL,
    field VARBINARY(255) NOT NULL,
    value LONGBLOB NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (id, field),
    KEY sessions_expires_at (field, expires_at)
) ENGINE = InnoDB;
