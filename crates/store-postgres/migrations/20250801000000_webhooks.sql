-- Webhook endpoints, their deliveries (a leased queue, one row per event and endpoint) and
-- the attempts of each delivery.

-- `event_types` is a JSON list (empty: every type). The secrets are opaque bytes sealed by
-- the engine. `mailbox_id` is a filter, not a reference: deleting the mailbox leaves it.
CREATE TABLE webhook_endpoints (
    id                         UUID PRIMARY KEY,
    site_id                    UUID NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    url                        TEXT NOT NULL,
    event_types                JSONB NOT NULL DEFAULT '[]',
    mailbox_id                 UUID,
    description                TEXT,
    enabled                    BOOLEAN NOT NULL,
    disabled_reason            TEXT,
    failing_since              TIMESTAMPTZ,
    secret_encrypted           BYTEA NOT NULL,
    previous_secret_encrypted  BYTEA,
    previous_secret_expires_at TIMESTAMPTZ,
    created_at                 TIMESTAMPTZ NOT NULL,
    updated_at                 TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhook_endpoints_site ON webhook_endpoints (site_id, created_at, id);

-- `event_seq` is the event's cursor as a number (the order claims follow). A delivery in
-- `sending` is held by the worker that claimed it until `lease_until`; otherwise NULL.
CREATE TABLE webhook_deliveries (
    id              UUID PRIMARY KEY,
    endpoint_id     UUID NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    site_id         UUID NOT NULL,
    event_id        UUID NOT NULL,
    event_cursor    TEXT NOT NULL,
    event_seq       BIGINT NOT NULL,
    event_type      TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'succeeded', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ,
    lease_until     TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    CONSTRAINT webhook_delivery_event UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_lease ON webhook_deliveries (lease_until) WHERE status = 'sending';

-- `seq` keeps the order attempts were recorded in, for attempts of the same number.
CREATE TABLE webhook_attempts (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id UUID NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt     BIGINT NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    status_code INTEGER,
    latency_ms  BIGINT NOT NULL,
    error       TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempt, seq);
