-- Per-site cursors and cluster-wide leases.
--
-- SQLite has one writer, so events are numbered as they are inserted: `seq` across the whole
-- log (as before) and `site_pos` within the site (1, 2, 3…), which site-scoped reads use as
-- their cursor so that a site's cursors say nothing about other sites.
ALTER TABLE events ADD COLUMN site_pos INTEGER;
UPDATE events SET site_pos = (SELECT COUNT(*) FROM events e WHERE e.site_id = events.site_id AND e.seq <= events.seq);
DROP INDEX events_site;
CREATE UNIQUE INDEX events_site_pos ON events (site_id, site_pos);

-- Leases on work one node does for all (the webhook fan-out); with SQLite there is one node,
-- but the store answers alike.
CREATE TABLE leases (
    name   TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until  TEXT NOT NULL
);
