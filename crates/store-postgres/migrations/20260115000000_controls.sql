-- Operational controls (issue 15): limits, quotas, TTL and retention per site and mailbox,
-- shared rate-limit state, uploaded attachments, and the leases that run each control
-- worker once per cluster.
CREATE TABLE controls (
    scope          TEXT PRIMARY KEY,             -- 'site:<uuid>' or 'mailbox:<uuid>'
    site_id        UUID NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    mailbox_id     UUID REFERENCES mailboxes (id) ON DELETE CASCADE,
    limits         JSONB NOT NULL DEFAULT '{}',  -- fields set explicitly (null = unlimited)
    retention_days INTEGER,
    expires_at     TIMESTAMPTZ,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX controls_expiry ON controls (expires_at) WHERE expires_at IS NOT NULL;

-- GCRA state: the theoretical arrival time (ms since the epoch) of each rate bucket.
CREATE TABLE rate_states (
    key    TEXT PRIMARY KEY,
    tat_ms BIGINT NOT NULL
);

CREATE TABLE uploads (
    id           UUID PRIMARY KEY,
    site_id      UUID NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    filename     TEXT,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    sha256       TEXT NOT NULL,
    blob_key     TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX uploads_expiry ON uploads (expires_at);

CREATE TABLE worker_leases (
    name   TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until  TIMESTAMPTZ NOT NULL
);

CREATE INDEX messages_mailbox_created ON messages (mailbox_id, created_at);
