-- Delivery leases, hosted domains with their DKIM keys, and suppression lists.

-- A recipient in `sending` is held by the worker that claimed it until `lease_until`; after
-- that another worker may claim it again. Any other status has no lease (NULL).
ALTER TABLE message_recipients ADD COLUMN lease_until TEXT;
-- Recipients left in `sending` by an earlier version had no lease: their lease ends at their
-- last change, so the next claim picks them up again.
UPDATE message_recipients SET lease_until = updated_at WHERE status = 'sending';
CREATE INDEX message_recipients_lease ON message_recipients (lease_until) WHERE status = 'sending';

-- Names are stored lower-cased; one name belongs to one site at most.
CREATE TABLE domains (
    id         BLOB PRIMARY KEY NOT NULL,
    site_id    BLOB NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX domain_name ON domains (name);
CREATE INDEX domains_site ON domains (site_id, name);

-- The private key is opaque bytes (encrypted by the engine).
CREATE TABLE dkim_keys (
    domain_id             BLOB NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    position              INTEGER NOT NULL,
    selector              TEXT NOT NULL,
    algorithm             TEXT NOT NULL,
    public_key            TEXT NOT NULL,
    private_key_encrypted BLOB NOT NULL,
    PRIMARY KEY (domain_id, position)
);
CREATE UNIQUE INDEX dkim_selector ON dkim_keys (domain_id, selector);

-- Addresses are stored lower-cased.
CREATE TABLE suppressions (
    site_id    BLOB NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    address    TEXT NOT NULL,
    reason     TEXT NOT NULL,
    detail     TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (site_id, address)
);
CREATE INDEX suppressions_address ON suppressions (address, site_id);
