-- A seal tells what it covered: its horizon, below which every transaction's rows are now
-- numbered (unless it numbered a full batch, which may have left some: the horizon is then
-- null, as for a seal that found the lock taken).
-- * It returns the horizon, so the node that sealed knows at once whether its own rows are
--   numbered. A writer that knows its transaction's id (the batch writer's statement returns
--   it) stops there: rows of later transactions still held back by a running one are not its
--   to wait for. Before, it sealed again until every row written before its seal was
--   numbered, and on three nodes, where another node's write is nearly always running, a third
--   of the seals numbered nothing.
-- * Its notification carries it: the payload was the sealing node's name; it is now the name,
--   a space and the horizon (an xid8, in decimal), and every row of a transaction older than
--   that is numbered once the notification arrives (it is sent at the seal's commit). A writer
--   that meets another node's seal, or finds its own rows held back, waits for a notification
--   that covers it rather than sealing again. Listeners of an earlier version take the whole
--   payload for a node name, which is never theirs: they are woken, as before.
-- The horizon is read even when no row waits (the rows are joined to it, not it to them).
-- Adding an output changes the function's type, so it is dropped and created again, in this
-- migration's transaction; callers that read only the first three outputs are unchanged.
-- Otherwise as in `20261207010000_lighter_writes.sql`.
DROP FUNCTION mailroom_seal(bigint, integer, text, text, bigint);
CREATE FUNCTION mailroom_seal(lock_key bigint, batch integer, channel text, node text, upto bigint,
                              OUT sealed bigint, OUT covers bigint, OUT pending boolean, OUT horizon xid8)
LANGUAGE plpgsql
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    seqs bigint[];
    sites uuid[];
    ready boolean[];
    take bigint[];
    take_sites uuid[];
    site_numbers bigint[];
    head_sites uuid[];
    head_before bigint[];
    log_before bigint;
    n integer;
    j integer;
    done text;
BEGIN
    IF upto IS NULL THEN
        covers := (SELECT COALESCE(MAX(e.seq), 0) FROM events e);
    ELSE
        covers := upto;
    END IF;
    sealed := 0;
    pending := false;
    IF NOT pg_try_advisory_xact_lock(lock_key) THEN
        sealed := -1;
        pending := EXISTS (SELECT 1 FROM events e WHERE e.pos IS NULL AND e.seq <= covers);
        RETURN;
    END IF;
    -- The rows waiting, in (xid, seq) order, each with whether it may be numbered now: its
    -- transaction is older than the horizon, the oldest transaction still running, leaving out
    -- transactions seen running in other databases of the cluster (they cannot write this
    -- log). It errs only one way: a transaction of this database is never taken for another's.
    -- xids are compared on their low 32 bits, as pg_stat_activity shows them.
    SELECT array_agg(p.seq ORDER BY p.xid, p.seq) FILTER (WHERE p.seq IS NOT NULL),
           array_agg(p.site_id ORDER BY p.xid, p.seq) FILTER (WHERE p.seq IS NOT NULL),
           array_agg(p.xid < h.oldest ORDER BY p.xid, p.seq) FILTER (WHERE p.seq IS NOT NULL), (array_agg(h.oldest))[1]
    INTO seqs, sites, ready, horizon
    FROM (SELECT COALESCE(
            (SELECT MIN(x) FROM pg_snapshot_xip(pg_current_snapshot()) AS x
             WHERE (x::text::bigint % 4294967296) NOT IN (
                SELECT a.backend_xid::text::bigint FROM pg_stat_activity a
                WHERE a.backend_xid IS NOT NULL AND a.datname IS DISTINCT FROM current_database()
                  AND a.datname IS NOT NULL)),
            pg_snapshot_xmax(pg_current_snapshot())) AS oldest) h
         LEFT JOIN LATERAL (SELECT e.seq, e.site_id, e.xid FROM events e WHERE e.pos IS NULL ORDER BY e.xid, e.seq LIMIT batch) p ON true;
    -- The rows that may be numbered are a prefix: the order is by xid.
    n := COALESCE(array_position(ready, false) - 1, cardinality(ready), 0);
    IF cardinality(seqs) = batch THEN
        -- A full batch: more may wait beyond it.
        pending := true;
    ELSE
        -- Rows behind a running transaction: pending if one was written before the caller's.
        FOR i IN n + 1 .. COALESCE(cardinality(seqs), 0) LOOP
            IF seqs[i] <= covers THEN
                pending := true;
                EXIT;
            END IF;
        END LOOP;
    END IF;
    IF n = batch THEN
        -- Rows of transactions older than the horizon may be left for the next batch.
        horizon := NULL;
    END IF;
    IF n = 0 THEN
        RETURN;
    END IF;
    take := seqs[1:n];
    take_sites := sites[1:n];
    -- Move each head on by its count; keep the position each had before.
    WITH counts AS (
        SELECT s AS site_id, count(*) AS c FROM unnest(take_sites) AS s GROUP BY s
        UNION ALL
        SELECT '00000000-0000-0000-0000-000000000000'::uuid, n
    ), heads AS (
        INSERT INTO event_heads (site_id, last) SELECT c.site_id, c.c FROM counts c
        ON CONFLICT (site_id) DO UPDATE SET last = event_heads.last + excluded.last
        RETURNING event_heads.site_id, event_heads.last
    )
    SELECT array_agg(h.site_id), array_agg(h.last - c.c) INTO head_sites, head_before
    FROM heads h JOIN counts c ON c.site_id = h.site_id;
    log_before := head_before[array_position(head_sites, '00000000-0000-0000-0000-000000000000'::uuid)];
    site_numbers := array_fill(0::bigint, ARRAY[n]);
    FOR i IN 1 .. n LOOP
        j := array_position(head_sites, take_sites[i]);
        head_before[j] := head_before[j] + 1;
        site_numbers[i] := head_before[j];
    END LOOP;
    UPDATE events e SET pos = log_before + u.i, site_pos = u.sp
    FROM unnest(take, site_numbers) WITH ORDINALITY AS u(seq, sp, i)
    WHERE e.seq = u.seq;
    sealed := n;
    -- Committed without waiting for its WAL flush; other nodes wake when it commits (the
    -- payload names this node, which skips it, and the horizon below which every row is now
    -- numbered, unless a full batch may have left some).
    done := set_config('synchronous_commit', 'off', true);
    IF horizon IS NOT NULL THEN
        done := pg_notify(channel, node || ' ' || horizon::text)::text;
    ELSE
        done := pg_notify(channel, node)::text;
    END IF;
END
$$;
