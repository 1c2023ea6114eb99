-- One round trip per seal: what the sealer did in nine statements (the log's newest seq, BEGIN,
-- the try-lock, the horizon query, the heads, the numbering UPDATE, NOTIFY, COMMIT, and the
-- check for rows still waiting) runs as one function call in its own implicit transaction.
-- Behaviour is unchanged (see `seal.rs` for the rules): rows are numbered in (xid, seq) order
-- once their transaction is older than every transaction still running in this database, each
-- site's head and the log's head continue in `event_heads`, and only a sealer holding the
-- transaction-level advisory lock `lock_key` (taken with a try, never waited for) numbers.
--
-- Each statement of a volatile PL/pgSQL function takes a new snapshot, so the horizon query
-- sees what earlier sealers numbered. The function's plans are cached per connection; with
-- sequential scans disabled inside it they stay index scans whatever size `events` had when
-- they were made (a generic plan made on a near-empty log once scanned the whole log on every
-- seal).
--
-- Arguments: `lock_key` the advisory lock, `batch` the most rows to number, `channel` and
-- `node` the notification sent when rows were numbered, `upto` the newest seq the caller
-- waits for (NULL: the log's newest now).
-- Returns `sealed` (rows numbered; -1 when another sealer holds the lock), `covers` (the seq
-- waited for) and `pending` (whether a row at or below `covers` is still un-numbered; false
-- when a full batch was numbered, as more are then ready at once).
CREATE FUNCTION mailroom_seal(lock_key bigint, batch integer, channel text, node text, upto bigint,
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
    -- Other nodes wake when this commits; the payload names this node, which skips it.
    PERFORM pg_notify(channel, node);
    IF sealed < batch THEN
        pending := EXISTS (SELECT 1 FROM events e WHERE e.pos IS NULL AND e.seq <= covers);
    END IF;
END
$$;

-- The Message-ID lookups, planned at each call with their values (a custom plan), without a
-- separate parse round trip from the client. A generic plan made while `messages` was nearly
-- empty (a new database taking mail at once, before autovacuum's first ANALYZE) can take
-- another index of `mailbox_id` at equal cost and keep walking the whole mailbox as it grows;
-- so these used to be sent unprepared, which costs a Parse round trip before each call.
CREATE FUNCTION mailroom_message_by_message_id(mailbox uuid, dir text, mid text) RETURNS SETOF messages
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_custom_plan
AS $$
BEGIN
    RETURN QUERY SELECT * FROM messages m WHERE m.mailbox_id = mailbox AND m.direction = dir AND m.message_id_header = mid;
END
$$;

-- The thread of the newest message of `mailbox` whose Message-ID is one of `mids`, either
-- direction; each lookup on every column of the unique (mailbox_id, direction,
-- message_id_header) index, planned apart from the ORDER BY … LIMIT.
CREATE FUNCTION mailroom_thread_by_message_ids(mailbox uuid, mids text[]) RETURNS uuid
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_custom_plan
AS $$
BEGIN
    RETURN (WITH found AS MATERIALIZED (
               SELECT m.id, m.thread_id FROM messages m
               WHERE m.mailbox_id = mailbox AND m.direction = 'inbound' AND m.message_id_header = ANY(mids)
               UNION ALL
               SELECT m.id, m.thread_id FROM messages m
               WHERE m.mailbox_id = mailbox AND m.direction = 'outbound' AND m.message_id_header = ANY(mids))
            SELECT f.thread_id FROM found f ORDER BY f.id DESC LIMIT 1);
END
$$;
