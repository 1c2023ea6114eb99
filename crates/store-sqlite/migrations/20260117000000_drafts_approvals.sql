-- Drafts, scheduled sends and approvals (issue 17). The draft is kept whole in `doc` (JSON);
-- the other columns are what it is found and claimed by.
CREATE TABLE drafts (
    id              BLOB PRIMARY KEY NOT NULL,
    site_id         BLOB NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    mailbox_id      BLOB NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    status          TEXT NOT NULL,
    send_at         TEXT,
    lease_until     TEXT,
    message_id      BLOB NOT NULL UNIQUE,
    approval_id     BLOB UNIQUE,
    approval_status TEXT,
    requested_at    TEXT,
    version         INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    doc             TEXT NOT NULL
);
CREATE INDEX drafts_site ON drafts (site_id, id);
CREATE INDEX drafts_due ON drafts (status, send_at);
CREATE INDEX drafts_approvals ON drafts (site_id, approval_status, requested_at);
