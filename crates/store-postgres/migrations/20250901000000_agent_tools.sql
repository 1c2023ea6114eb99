-- The records of the agent email tools: contacts, team members, site sending settings, secure
-- tokens, tool configs, tool runs (the audit log) and sent emails. Everything belongs to a
-- site and goes with it.

-- A team member sends from a mailbox: deleting a mailbox a member uses is refused (the store
-- reports `Conflict { constraint: "team_member_mailbox" }`); move or delete the member first.
CREATE TABLE team_members (
    id             UUID PRIMARY KEY,
    site_id        UUID NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    mailbox_id     UUID NOT NULL CONSTRAINT team_member_mailbox REFERENCES mailboxes (id),
    signature_html TEXT,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX team_members_site ON team_members (site_id, created_at, id);
CREATE INDEX team_members_mailbox ON team_members (mailbox_id);

-- `email_lower` is the email lower-cased: the unique key and what lookups compare. Deleting
-- the owning team member leaves the contact without an owner.
CREATE TABLE contacts (
    id                   UUID PRIMARY KEY,
    site_id              UUID NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    email                TEXT,
    email_lower          TEXT,
    external_id          TEXT,
    name                 TEXT,
    attributes           JSONB NOT NULL DEFAULT '{}',
    email_subscribed     BOOLEAN,
    marketing_opt_out    BOOLEAN NOT NULL DEFAULT FALSE,
    owner_team_member_id UUID REFERENCES team_members (id) ON DELETE SET NULL,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL,
    CONSTRAINT contact_email UNIQUE (site_id, email_lower),
    CONSTRAINT contact_external_id UNIQUE (site_id, external_id)
);
CREATE INDEX contacts_site ON contacts (site_id, id);
CREATE INDEX contacts_owner ON contacts (owner_team_member_id) WHERE owner_team_member_id IS NOT NULL;

-- One JSON document per site.
CREATE TABLE site_settings (
    site_id    UUID PRIMARY KEY REFERENCES sites (id) ON DELETE CASCADE,
    settings   JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- The value is opaque bytes sealed by the engine.
CREATE TABLE secure_tokens (
    id              UUID PRIMARY KEY,
    site_id         UUID NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    token_type      TEXT NOT NULL,
    identifier      TEXT NOT NULL,
    value_encrypted BYTEA NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    CONSTRAINT secure_token_identity UNIQUE (site_id, token_type, identifier)
);
CREATE INDEX secure_tokens_site ON secure_tokens (site_id, created_at, id);

CREATE TABLE tool_configs (
    id         UUID PRIMARY KEY,
    site_id    UUID NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    tool       TEXT NOT NULL,
    prompt     TEXT NOT NULL,
    settings   JSONB NOT NULL DEFAULT 'null',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT tool_config_name UNIQUE (site_id, name)
);
CREATE INDEX tool_configs_name ON tool_configs (name, site_id);

-- The audit log outlives the config and the contact it mentions (their ids become NULL).
-- `message_id` is a record, not a reference: the message may be deleted later.
CREATE TABLE tool_runs (
    id             UUID PRIMARY KEY,
    site_id        UUID NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    tool           TEXT NOT NULL,
    tool_config_id UUID REFERENCES tool_configs (id) ON DELETE SET NULL,
    contact_id     UUID REFERENCES contacts (id) ON DELETE SET NULL,
    status         TEXT NOT NULL,
    code           TEXT,
    dry_run        BOOLEAN NOT NULL,
    inputs         JSONB NOT NULL,
    checks         JSONB NOT NULL,
    decision       JSONB NOT NULL,
    outputs        JSONB NOT NULL,
    message_id     UUID,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX tool_runs_site ON tool_runs (site_id, id);
CREATE INDEX tool_runs_config ON tool_runs (tool_config_id) WHERE tool_config_id IS NOT NULL;
CREATE INDEX tool_runs_contact ON tool_runs (contact_id, id) WHERE contact_id IS NOT NULL;

-- `recipient` is lower-cased. A deleted contact leaves its sends (the duplicate check reads
-- them by recipient) without a contact. `message_id` is a record, not a reference.
CREATE TABLE sent_emails (
    id                  UUID PRIMARY KEY,
    site_id             UUID NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    recipient           TEXT NOT NULL,
    contact_id          UUID REFERENCES contacts (id) ON DELETE SET NULL,
    tool                TEXT NOT NULL,
    provider            TEXT NOT NULL,
    external_message_id TEXT NOT NULL,
    message_id          UUID,
    subject             TEXT NOT NULL,
    content_hash        TEXT NOT NULL,
    simhash             TEXT NOT NULL,
    template            TEXT,
    context             JSONB NOT NULL DEFAULT 'null',
    created_at          TIMESTAMPTZ NOT NULL,
    CONSTRAINT sent_email_external_id UNIQUE (site_id, provider, external_message_id)
);
CREATE INDEX sent_emails_recipient ON sent_emails (site_id, recipient, created_at);
CREATE INDEX sent_emails_contact ON sent_emails (contact_id, created_at) WHERE contact_id IS NOT NULL;
