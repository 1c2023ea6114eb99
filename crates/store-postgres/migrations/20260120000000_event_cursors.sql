-- Event positions without a lock held across COMMIT, per-site cursors, cluster-wide leases,
-- and lighter message rows.
--
-- Writers insert events with `pos` and `site_pos` NULL and take no lock: `seq` comes from a
-- sequence (any order) and `xid` is the writing transaction's id. A sealer (any node, one at
-- a time under a transaction-level advisory lock that no writer takes) numbers committed rows
-- whose transaction is older than every transaction still running
-- (`xid < pg_snapshot_xmin(pg_current_snapshot())`), in (xid, seq) order: `pos` across the
-- whole log and `site_pos` within the site, continuing from `event_heads`. Such rows can no
-- longer be joined by a row that sorts before them, so a reader that follows `pos` or
-- `site_pos` sees every event once and in order. Readers see numbered rows only.
ALTER TABLE events ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
ALTER TABLE events ADD COLUMN pos BIGINT;
ALTER TABLE events ADD COLUMN site_pos BIGINT;

-- Existing rows keep their order: `pos` is their old cursor, so the webhook fan-out's stored
-- position stays valid; `site_pos` numbers each site's rows from 1.
UPDATE events SET pos = seq;
UPDATE events e SET site_pos = n.rn
FROM (SELECT seq, row_number() OVER (PARTITION BY site_id ORDER BY seq) AS rn FROM events) n
WHERE e.seq = n.seq;

-- The last position handed out, per site and for the whole log (the nil UUID).
CREATE TABLE event_heads (
    site_id UUID PRIMARY KEY,
    last    BIGINT NOT NULL
);
INSERT INTO event_heads (site_id, last) SELECT site_id, MAX(site_pos) FROM events GROUP BY site_id;
INSERT INTO event_heads (site_id, last) SELECT '00000000-0000-0000-0000-000000000000', COALESCE(MAX(pos), 0) FROM events;

DROP INDEX events_site;
CREATE UNIQUE INDEX events_pos ON events (pos);
CREATE UNIQUE INDEX events_site_pos ON events (site_id, site_pos);
CREATE INDEX events_unsealed ON events (xid, seq) WHERE pos IS NULL;

-- Cluster-wide leases for work one node does for all (the webhook fan-out).
CREATE TABLE leases (
    name   TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until  TIMESTAMPTZ NOT NULL
);

-- Message bodies and headers are stored uncompressed out of line: compressing every body on
-- insert cost more CPU than the disk it saved.
ALTER TABLE messages ALTER COLUMN text_body SET STORAGE EXTERNAL;
ALTER TABLE messages ALTER COLUMN html_body SET STORAGE EXTERNAL;
ALTER TABLE messages ALTER COLUMN headers SET STORAGE EXTERNAL;
ALTER TABLE messages ALTER COLUMN search SET STORAGE EXTERNAL;

-- The search document is prepared by Mailroom (the same text `message_search_document`
-- makes: bounded fields, punctuation as spaces) and only tokenised here, on insert; a stored
-- generated column was also recomputed on every update of the row (read flags, labels).
ALTER TABLE messages ALTER COLUMN search DROP EXPRESSION;
