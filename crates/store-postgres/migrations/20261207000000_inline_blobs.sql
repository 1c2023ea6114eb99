-- Small blobs in the database, and seals that do not wait for their WAL flush.
--
-- Blobs (raw messages, attachments) up to `INLINE_BLOB_MAX` bytes are kept in `blobs`, written
-- by the statement that writes their message, as the SQLite store does: a received message
-- costs no file creation and no fsync of its own on the node, and every node of the cluster
-- reads it from here, whatever blob store holds the large ones. Stored uncompressed
-- (compressing every raw message cost more CPU than the disk it saved), and in the row itself
-- up to the size of a page, without TOAST chunks and their index.
CREATE TABLE blobs (
    key  TEXT PRIMARY KEY,
    data BYTEA NOT NULL
);
ALTER TABLE blobs ALTER COLUMN data SET STORAGE EXTERNAL;
ALTER TABLE blobs SET (toast_tuple_target = 8160);

-- A seal commits with `synchronous_commit = off`: its caller does not wait for the WAL flush of
-- the numbering. Losing it in a crash of PostgreSQL loses nothing and changes no number: the
-- rows it numbered were committed durably before it (writers commit synchronously), the
-- numbering continues the heads in (xid, seq) order over the rows no running transaction can
-- precede, so the sealed rows are always a prefix of the log in that order, and the next seal
-- after the crash gives every one of them the position it had. Anything durable written after
-- the seal (a webhook cursor, the next message) flushes the WAL up to it first.
CREATE OR REPLACE FUNCTION mailroom_seal(lock_key bigint, batch integer, channel text, node text, upto bigint,
                              OUT sealed bigint, OUT covers bigint, OUT pending boolean)
LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
DECLARE
    seqs bigint[];
    sites uuid[];
    head_sites uuid[];
    head_before bigint[];
    log_before bigint;
    j integer;
BEGIN
    covers := COALESCE(upto, (SELECT COALESCE(MAX(e.seq), 0) FROM events e));
    sealed := 0;
    pending := false;
    IF NOT pg_try_advisory_xact_lock(lock_key) THEN
        sealed := -1;
        pending := EXISTS (SELECT 1 FROM events e WHERE e.pos IS NULL AND e.seq <= covers);
        RETURN;
    END IF;
    -- The horizon: the oldest transaction still running, leaving out transactions seen running
    -- in other databases of the cluster (they cannot write this log). It errs only one way: a
    -- transaction of this database is never taken for another's. xids are compared on their
    -- low 32 bits, as pg_stat_activity shows them.
    SELECT array_agg(p.seq ORDER BY p.xid, p.seq), array_agg(p.site_id ORDER BY p.xid, p.seq)
    INTO seqs, sites
    FROM (
        SELECT e.seq, e.site_id, e.xid FROM events e
        WHERE e.pos IS NULL AND e.xid < COALESCE(
            (SELECT MIN(x) FROM pg_snapshot_xip(pg_current_snapshot()) AS x
             WHERE (x::text::bigint % 4294967296) NOT IN (
                SELECT a.backend_xid::text::bigint FROM pg_stat_activity a
                WHERE a.backend_xid IS NOT NULL AND a.datname IS DISTINCT FROM current_database()
                  AND a.datname IS NOT NULL)),
            pg_snapshot_xmax(pg_current_snapshot()))
        ORDER BY e.xid, e.seq
        LIMIT batch
    ) p;
    IF seqs IS NULL THEN
        pending := EXISTS (SELECT 1 FROM events e WHERE e.pos IS NULL AND e.seq <= covers);
        RETURN;
    END IF;
    -- Move each head on by its count; keep the position each had before.
    WITH counts AS (
        SELECT s AS site_id, count(*) AS n FROM unnest(sites) AS s GROUP BY s
        UNION ALL
        SELECT '00000000-0000-0000-0000-000000000000'::uuid, cardinality(seqs)
    ), heads AS (
        INSERT INTO event_heads (site_id, last) SELECT c.site_id, c.n FROM counts c
        ON CONFLICT (site_id) DO UPDATE SET last = event_heads.last + excluded.last
        RETURNING event_heads.site_id, event_heads.last
    )
    SELECT array_agg(h.site_id), array_agg(h.last - c.n) INTO head_sites, head_before
    FROM heads h JOIN counts c ON c.site_id = h.site_id;
    log_before := head_before[array_position(head_sites, '00000000-0000-0000-0000-000000000000'::uuid)];
    FOR i IN 1 .. cardinality(seqs) LOOP
        j := array_position(head_sites, sites[i]);
        head_before[j] := head_before[j] + 1;
        UPDATE events SET pos = log_before + i, site_pos = head_before[j] WHERE seq = seqs[i];
    END LOOP;
    sealed := cardinality(seqs);
    -- Committed without waiting for its WAL flush (see above).
    PERFORM set_config('synchronous_commit', 'off', true);
    -- Other nodes wake when this commits; the payload names this node, which skips it.
    PERFORM pg_notify(channel, node);
    IF sealed < batch THEN
        pending := EXISTS (SELECT 1 FROM events e WHERE e.pos IS NULL AND e.seq <= covers);
    END IF;
END
$$;
