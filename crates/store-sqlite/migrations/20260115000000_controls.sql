-- Operational controls (issue 15): limits, quotas, TTL and retention per site and mailbox,
-- rate-limit state, uploaded attachments, and the leases that run each control worker once.
CREATE TABLE controls (
    scope          TEXT PRIMARY KEY NOT NULL,    -- 'site:<uuid>' or 'mailbox:<uuid>'
    site_id        BLOB NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    mailbox_id     BLOB REFERENCES mailboxes (id) ON DELETE CASCADE,
    limits         TEXT NOT NULL DEFAULT '{}',   -- fields set explicitly (null = unlimited)
    retention_days INTEGER,
    expires_at     TEXT,
    updated_at     TEXT NOT NULL
);
CREATE INDEX controls_expiry ON controls (expires_at) WHERE expires_at IS NOT NULL;

-- GCRA state: the theoretical arrival time (ms since the epoch) of each rate bucket.
CREATE TABLE rate_states (
    key    TEXT PRIMARY KEY NOT NULL,
    tat_ms INTEGER NOT NULL
);

CREATE TABLE uploads (
    id           BLOB PRIMARY KEY NOT NULL,
    site_id      BLOB NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    filename     TEXT,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    blob_key     TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE INDEX uploads_expiry ON uploads (expires_at);

CREATE TABLE worker_leases (
    name   TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    until  TEXT NOT NULL
);

CREATE INDEX messages_mailbox_created ON messages (mailbox_id, created_at);
