-- The records of the agent email tools: contacts, team members, site sending settings, secure
-- tokens, tool configs, tool runs (the audit log) and sent emails. Everything belongs to a
-- site and goes with it.

-- A team member sends from a mailbox: deleting a mailbox a member uses is refused (the store
-- reports `Conflict { constraint: "team_member_mailbox" }`); move or delete the member first.
CREATE TABLE team_members (
    id             BLOB PRIMARY KEY NOT NULL,
    site_id        BLOB NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    mailbox_id     BLOB NOT NULL REFERENCES mailboxes (id),
    signature_html TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX team_members_site ON team_members (site_id, created_at, id);
CREATE INDEX team_members_mailbox ON team_members (mailbox_id);

-- `email_lower` is the email lower-cased: the unique key and what lookups compare. Deleting
-- the owning team member leaves the contact without an owner.
CREATE TABLE contacts (
    id                   BLOB PRIMARY KEY NOT NULL,
    site_id              BLOB NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    email                TEXT,
    email_lower          TEXT,
    external_id          TEXT,
    name                 TEXT,
    attributes           TEXT NOT NULL DEFAULT '{}',
    email_subscribed     INTEGER,
    marketing_opt_out    INTEGER NOT NULL DEFAULT 0,
    owner_team_member_id BLOB REFERENCES team_members (id) ON DELETE SET NULL,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
);
CREATE UNIQUE INDEX contact_email ON contacts (site_id, email_lower) WHERE email_lower IS NOT NULL;
CREATE UNIQUE INDEX contact_external_id ON contacts (site_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX contacts_site ON contacts (site_id, id);
CREATE INDEX contacts_owner ON contacts (owner_team_member_id) WHERE owner_team_member_id IS NOT NULL;

-- One JSON document per site.
CREATE TABLE site_settings (
    site_id    BLOB PRIMARY KEY NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    settings   TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- The value is opaque bytes sealed by the engine.
CREATE TABLE secure_tokens (
    id              BLOB PRIMARY KEY NOT NULL,
    site_id         BLOB NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    token_type      TEXT NOT NULL,
    identifier      TEXT NOT NULL,
    value_encrypted BLOB NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE UNIQUE INDEX secure_token_identity ON secure_tokens (site_id, token_type, identifier);
CREATE INDEX secure_tokens_site ON secure_tokens (site_id, created_at, id);

CREATE TABLE tool_configs (
    id         BLOB PRIMARY KEY NOT NULL,
    site_id    BLOB NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    tool       TEXT NOT NULL,
    prompt     TEXT NOT NULL,
    settings   TEXT NOT NULL DEFAULT 'null',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX tool_config_name ON tool_configs (site_id, name);
CREATE INDEX tool_configs_name ON tool_configs (name, site_id);

-- The audit log outlives the config and the contact it mentions (their ids become NULL).
-- `message_id` is a record, not a reference: the message may be deleted later.
CREATE TABLE tool_runs (
    id             BLOB PRIMARY KEY NOT NULL,
    site_id        BLOB NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    tool           TEXT NOT NULL,
    tool_config_id BLOB REFERENCES tool_configs (id) ON DELETE SET NULL,
    contact_id     BLOB REFERENCES contacts (id) ON DELETE SET NULL,
    status         TEXT NOT NULL,
    code           TEXT,
    dry_run        INTEGER NOT NULL,
    inputs         TEXT NOT NULL,
    checks         TEXT NOT NULL,
    decision       TEXT NOT NULL,
    outputs        TEXT NOT NULL,
    message_id     BLOB,
    created_at     TEXT NOT NULL
);
CREATE INDEX tool_runs_site ON tool_runs (site_id, id);
CREATE INDEX tool_runs_config ON tool_runs (tool_config_id) WHERE tool_config_id IS NOT NULL;
CREATE INDEX tool_runs_contact ON tool_runs (contact_id, id) WHERE contact_id IS NOT NULL;

-- `recipient` is lower-cased. A deleted contact leaves its sends (the duplicate check reads
-- them by recipient) without a contact. `message_id` is a record, not a reference.
CREATE TABLE sent_emails (
    id                  BLOB PRIMARY KEY NOT NULL,
    site_id             BLOB NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    recipient           TEXT NOT NULL,
    contact_id          BLOB REFERENCES contacts (id) ON DELETE SET NULL,
    tool                TEXT NOT NULL,
    provider            TEXT NOT NULL,
    external_message_id TEXT NOT NULL,
    message_id          BLOB,
    subject             TEXT NOT NULL,
    content_hash        TEXT NOT NULL,
    simhash             TEXT NOT NULL,
    template            TEXT,
    context             TEXT NOT NULL DEFAULT 'null',
    created_at          TEXT NOT NULL
);
CREATE UNIQUE INDEX sent_email_external_id ON sent_emails (site_id, provider, external_message_id);
CREATE INDEX sent_emails_recipient ON sent_emails (site_id, recipient, created_at);
CREATE INDEX sent_emails_contact ON sent_emails (contact_id, created_at) WHERE contact_id IS NOT NULL;
