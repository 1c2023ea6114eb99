-- The initial schema of Mailroom's PostgreSQL store.
--
-- Unique constraints and indexes carry the names the store reports in `Conflict` errors
-- (`mailbox_address`, `mailbox_client_id`, `message_id`, `api_key_hash`, `event_id`,
-- `<table>_pkey`).

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE sites (
    id         UUID PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE api_keys (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL,
    scope       TEXT NOT NULL,
    site_id     UUID REFERENCES sites (id) ON DELETE CASCADE,
    prefix      TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    CONSTRAINT api_key_hash UNIQUE (secret_hash)
);
CREATE INDEX api_keys_site ON api_keys (site_id, created_at);

CREATE TABLE mailboxes (
    id                UUID PRIMARY KEY,
    site_id           UUID NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    address           TEXT NOT NULL,
    address_canonical TEXT NOT NULL,
    display_name      TEXT,
    client_id         TEXT,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    CONSTRAINT mailbox_address UNIQUE (address_canonical)
);
CREATE UNIQUE INDEX mailbox_client_id ON mailboxes (site_id, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX mailboxes_site ON mailboxes (site_id, id);

CREATE TABLE threads (
    id              UUID PRIMARY KEY,
    site_id         UUID NOT NULL,
    mailbox_id      UUID NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    subject         TEXT,
    participants    JSONB NOT NULL DEFAULT '[]',
    message_count   BIGINT NOT NULL,
    snippet         TEXT NOT NULL,
    last_message_at TIMESTAMPTZ NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX threads_activity ON threads (mailbox_id, last_message_at DESC, id DESC);

CREATE TABLE messages (
    id                UUID PRIMARY KEY,
    site_id           UUID NOT NULL,
    mailbox_id        UUID NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    thread_id         UUID NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    direction         TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    message_id_header TEXT,
    in_reply_to       TEXT,
    "references"      JSONB NOT NULL DEFAULT '[]',
    from_address      JSONB,
    to_addresses      JSONB NOT NULL DEFAULT '[]',
    cc_addresses      JSONB NOT NULL DEFAULT '[]',
    bcc_addresses     JSONB NOT NULL DEFAULT '[]',
    reply_to          JSONB NOT NULL DEFAULT '[]',
    subject           TEXT,
    text_body         TEXT,
    html_body         TEXT,
    snippet           TEXT NOT NULL,
    headers           JSONB NOT NULL DEFAULT '[]',
    labels            JSONB NOT NULL DEFAULT '[]',
    read              BOOLEAN NOT NULL DEFAULT FALSE,
    size              BIGINT NOT NULL,
    raw_blob_key      TEXT NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX message_id ON messages (mailbox_id, direction, message_id_header);
CREATE INDEX messages_mailbox ON messages (mailbox_id, id);
CREATE INDEX messages_thread ON messages (thread_id, id);
CREATE INDEX messages_raw_blob ON messages (raw_blob_key);

CREATE TABLE attachments (
    id           UUID PRIMARY KEY,
    message_id   UUID NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    site_id      UUID NOT NULL,
    position     INTEGER NOT NULL,
    filename     TEXT,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    content_id   TEXT,
    inline       BOOLEAN NOT NULL DEFAULT FALSE,
    blob_key     TEXT NOT NULL
);
CREATE INDEX attachments_message ON attachments (message_id, position);
CREATE INDEX attachments_blob ON attachments (blob_key);

CREATE TABLE message_recipients (
    message_id      UUID NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    address         TEXT NOT NULL,
    position        INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL,
    last_reply      TEXT,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (message_id, address)
);
CREATE INDEX message_recipients_due ON message_recipients (status, next_attempt_at);

-- The event log. `seq` is the cursor; writers take an advisory lock before inserting so that
-- cursors become visible in increasing order (see the crate documentation).
CREATE TABLE events (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         UUID NOT NULL,
    site_id    UUID NOT NULL,
    mailbox_id UUID,
    type       TEXT NOT NULL,
    data       JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT event_id UNIQUE (id)
);
CREATE INDEX events_site ON events (site_id, seq);

CREATE TABLE idempotency_keys (
    site_id       UUID NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status_code   INTEGER,
    response_body TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (site_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
