-- Allow/block lists (issue 11) and the bookkeeping of applied delivery-status reports.
CREATE TABLE list_entries (
    id         BLOB PRIMARY KEY NOT NULL,
    site_id    BLOB NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    direction  TEXT NOT NULL CHECK (direction IN ('send', 'receive')),
    kind       TEXT NOT NULL CHECK (kind IN ('allow', 'block')),
    entry      TEXT NOT NULL,
    mailbox_id BLOB REFERENCES mailboxes (id) ON DELETE CASCADE,
    reason     TEXT,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX list_entry ON list_entries (site_id, direction, kind, entry, COALESCE(mailbox_id, X''));
CREATE INDEX list_entries_site ON list_entries (site_id, direction, created_at);

CREATE TABLE dsn_records (
    report_message_id   BLOB NOT NULL,
    recipient           TEXT NOT NULL,
    site_id             BLOB NOT NULL,
    original_message_id BLOB NOT NULL,
    decision            TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    PRIMARY KEY (report_message_id, recipient)
);
CREATE INDEX dsn_records_original ON dsn_records (original_message_id, created_at);

-- The route an outbound message is delivered by when it is not the default (relay / MX):
-- `{"kind": "smtp_account", "identifier": "<address>"}` for the site's SMTP account.
CREATE TABLE message_routes (
    message_id BLOB PRIMARY KEY NOT NULL,
    site_id    BLOB NOT NULL,
    route      TEXT NOT NULL
);
