-- What agents read (issue 18): the reply extraction and security flags of each message
-- (JSON; NULL for messages stored before, which are computed when read), and the durable
-- queue of attachment-text extraction with its results.
ALTER TABLE messages ADD COLUMN reading TEXT;

CREATE TABLE attachment_texts (
    attachment_id   BLOB PRIMARY KEY NOT NULL REFERENCES attachments (id) ON DELETE CASCADE,
    message_id      BLOB NOT NULL,
    site_id         BLOB NOT NULL,
    mailbox_id      BLOB NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'done', 'unsupported', 'failed')),
    text            TEXT,
    truncated       INTEGER NOT NULL DEFAULT 0,
    error           TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    lease_until     TEXT,
    updated_at      TEXT NOT NULL
);
CREATE INDEX attachment_texts_due ON attachment_texts (status, next_attempt_at);
