-- Drafts, scheduled sends and approvals (issue 17). The draft is kept whole in `doc` (JSON
-- text); the other columns are what it is found and claimed by.
CREATE TABLE drafts (
    id              UUID PRIMARY KEY,
    site_id         UUID NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    mailbox_id      UUID NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    status          TEXT NOT NULL,
    send_at         TIMESTAMPTZ,
    lease_until     TIMESTAMPTZ,
    message_id      UUID NOT NULL UNIQUE,
    approval_id     UUID UNIQUE,
    approval_status TEXT,
    requested_at    TIMESTAMPTZ,
    version         BIGINT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    doc             TEXT NOT NULL
);
CREATE INDEX drafts_site ON drafts (site_id, id);
CREATE INDEX drafts_due ON drafts (status, send_at);
CREATE INDEX drafts_approvals ON drafts (site_id, approval_status, requested_at);
