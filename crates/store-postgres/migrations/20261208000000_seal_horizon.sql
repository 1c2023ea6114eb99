-- A seal's notification says which rows it covered, so a node whose rows another node's seal
-- numbered need not seal again. The payload was the sealing node's name; it is now the name, a
-- space and the seal's horizon (an xid8, in decimal): every row written by a transaction older
-- than the horizon is numbered once the notification arrives (it is sent at the seal's commit).
-- A seal that numbered a full batch may have left such rows for its next round, and says only
-- its name. A node learns the xid of its own writes (the batch statement returns it) and
-- compares: a writer that meets another node's seal (the lock taken) waits for its
-- notification, and when that horizon is past its own transaction, its events are numbered
-- and it returns without a second seal. Listeners of an earlier version take the whole payload
-- for a node name, which is never theirs: they are woken, as before. Otherwise as in
-- `20261207010000_lighter_writes.sql`.
CREATE OR REPLACE FUNCTION mailroom_seal(lock_key bigint, batch integer, channel text, node text, upto bigint,
                                         OUT sealed bigint, OUT covers bigint, OUT pending boolean)
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
    horizon xid8;
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
    SELECT array_agg(p.seq ORDER BY p.xid, p.seq), array_agg(p.site_id ORDER BY p.xid, p.seq),
           array_agg(p.xid < h.horizon ORDER BY p.xid, p.seq), (array_agg(h.horizon))[1]
    INTO seqs, sites, ready, horizon
    FROM (SELECT COALESCE(
            (SELECT MIN(x) FROM pg_snapshot_xip(pg_current_snapshot()) AS x
             WHERE (x::text::bigint % 4294967296) NOT IN (
                SELECT a.backend_xid::text::bigint FROM pg_stat_activity a
                WHERE a.backend_xid IS NOT NULL AND a.datname IS DISTINCT FROM current_database()
                  AND a.datname IS NOT NULL)),
            pg_snapshot_xmax(pg_current_snapshot())) AS horizon) h,
         LATERAL (SELECT e.seq, e.site_id, e.xid FROM events e WHERE e.pos IS NULL ORDER BY e.xid, e.seq LIMIT batch) p;
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
    IF n < batch THEN
        done := pg_notify(channel, node || ' ' || horizon::text)::text;
    ELSE
        done := pg_notify(channel, node)::text;
    END IF;
END
$$;
