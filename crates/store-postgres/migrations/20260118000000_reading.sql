-- What agents read (issue 18): the reply extraction and security flags of each message
-- (NULL for messages stored before, which are computed when read), and the durable queue of
-- attachment-text extraction with its results.
ALTER TABLE messages ADD COLUMN reading JSONB;

CREATE TABLE attachment_texts (
    attachment_id   UUID PRIMARY KEY REFERENCES attachments (id) ON DELETE CASCADE,
    message_id      UUID NOT NULL,
    site_id         UUID NOT NULL,
    mailbox_id      UUID NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'done', 'unsupported', 'failed')),
    text            TEXT,
    truncated       BOOLEAN NOT NULL DEFAULT FALSE,
    error           TEXT,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ,
    lease_until     TIMESTAMPTZ,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX attachment_texts_due ON attachment_texts (status, next_attempt_at);
