-- The initial schema of Mailroom's SQLite store.
--
-- Ids are UUID v7 stored as 16-byte BLOBs (bytewise order is creation order). Timestamps are
-- UTC text of one fixed shape, `YYYY-MM-DDTHH:MM:SS.ffffffZ`, so text order is time order.
-- JSON columns hold JSON text.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE sites (
    id         BLOB PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE api_keys (
    id          BLOB PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    scope       TEXT NOT NULL,
    site_id     BLOB REFERENCES sites (id) ON DELETE CASCADE,
    prefix      TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX api_key_hash ON api_keys (secret_hash);
CREATE INDEX api_keys_site ON api_keys (site_id, created_at);

CREATE TABLE mailboxes (
    id                BLOB PRIMARY KEY NOT NULL,
    site_id           BLOB NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    address           TEXT NOT NULL,
    address_canonical TEXT NOT NULL,
    display_name      TEXT,
    client_id         TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE UNIQUE INDEX mailbox_address ON mailboxes (address_canonical);
CREATE UNIQUE INDEX mailbox_client_id ON mailboxes (site_id, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX mailboxes_site ON mailboxes (site_id, id);

CREATE TABLE threads (
    id              BLOB PRIMARY KEY NOT NULL,
    site_id         BLOB NOT NULL,
    mailbox_id      BLOB NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    subject         TEXT,
    participants    TEXT NOT NULL DEFAULT '[]',
    message_count   INTEGER NOT NULL,
    snippet         TEXT NOT NULL,
    last_message_at TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX threads_activity ON threads (mailbox_id, last_message_at DESC, id DESC);

CREATE TABLE messages (
    id                BLOB PRIMARY KEY NOT NULL,
    site_id           BLOB NOT NULL,
    mailbox_id        BLOB NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    thread_id         BLOB NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    direction         TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    message_id_header TEXT,
    in_reply_to       TEXT,
    "references"      TEXT NOT NULL DEFAULT '[]',
    from_address      TEXT,
    to_addresses      TEXT NOT NULL DEFAULT '[]',
    cc_addresses      TEXT NOT NULL DEFAULT '[]',
    bcc_addresses     TEXT NOT NULL DEFAULT '[]',
    reply_to          TEXT NOT NULL DEFAULT '[]',
    subject           TEXT,
    text_body         TEXT,
    html_body         TEXT,
    snippet           TEXT NOT NULL,
    headers           TEXT NOT NULL DEFAULT '[]',
    labels            TEXT NOT NULL DEFAULT '[]',
    read              INTEGER NOT NULL DEFAULT 0,
    size              INTEGER NOT NULL,
    raw_blob_key      TEXT NOT NULL,
    created_at        TEXT NOT NULL
);
CREATE UNIQUE INDEX message_id ON messages (mailbox_id, direction, message_id_header);
CREATE INDEX messages_mailbox ON messages (mailbox_id, id);
CREATE INDEX messages_thread ON messages (thread_id, id);
CREATE INDEX messages_raw_blob ON messages (raw_blob_key);

CREATE TABLE attachments (
    id           BLOB PRIMARY KEY NOT NULL,
    message_id   BLOB NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    site_id      BLOB NOT NULL,
    position     INTEGER NOT NULL,
    filename     TEXT,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    content_id   TEXT,
    inline       INTEGER NOT NULL DEFAULT 0,
    blob_key     TEXT NOT NULL
);
CREATE INDEX attachments_message ON attachments (message_id, position);
CREATE INDEX attachments_blob ON attachments (blob_key);

CREATE TABLE message_recipients (
    message_id      BLOB NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    address         TEXT NOT NULL,
    position        INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL,
    last_reply      TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (message_id, address)
);
CREATE INDEX message_recipients_due ON message_recipients (status, next_attempt_at);

CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         BLOB NOT NULL UNIQUE,
    site_id    BLOB NOT NULL,
    mailbox_id BLOB,
    type       TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX events_site ON events (site_id, seq);

CREATE TABLE idempotency_keys (
    site_id       BLOB NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status_code   INTEGER,
    response_body TEXT,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (site_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
