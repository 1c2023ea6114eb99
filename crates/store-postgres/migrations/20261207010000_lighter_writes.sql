-- lz4 instead of pglz for the values PostgreSQL compresses on insert: event payloads (a
-- message's event carries the message, some kilobytes of JSON) and the message's own JSON
-- columns. pglz was the largest single function in the profile of a receiving node's
-- database (about 3% of its CPU); lz4 compresses several times faster at a similar size, and
-- reads decompress faster too. Values already stored keep their compression. A server built
-- without lz4 keeps pglz.
DO $$
BEGIN
    ALTER TABLE events ALTER COLUMN data SET COMPRESSION lz4;
    ALTER TABLE messages ALTER COLUMN reading SET COMPRESSION lz4;
    ALTER TABLE messages ALTER COLUMN auth_results SET COMPRESSION lz4;
    ALTER TABLE messages ALTER COLUMN to_addresses SET COMPRESSION lz4;
    ALTER TABLE messages ALTER COLUMN cc_addresses SET COMPRESSION lz4;
    ALTER TABLE messages ALTER COLUMN bcc_addresses SET COMPRESSION lz4;
    ALTER TABLE messages ALTER COLUMN "references" SET COMPRESSION lz4;
    ALTER TABLE threads ALTER COLUMN participants SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this PostgreSQL server is built without lz4: values stay compressed with pglz';
END
$$;

-- The seal in three statements where it took ten or more. Each statement a PL/pgSQL function
-- runs pays its executor's start and end (opening the table and its indexes), which
-- pg_stat_statements leaves out of the statements' own times: two thirds of a seal's time went
-- there. Now:
-- * one query reads the rows waiting to be numbered, with the horizon, and tells which may be
--   numbered now (the pending check was a second query);
-- * one statement moves the heads on;
-- * one UPDATE numbers every row (it was one UPDATE per row), joined to the arrays of seqs and
--   positions by nested loop on the primary key: hash and merge joins are off inside the
--   function, as sequential scans are, so a plan cached on a near-empty log cannot read the
--   whole log once it has grown; and with the plan so fixed, the function's statements keep
--   their generic plans (the UPDATE was otherwise planned again at every call, as a custom plan
--   looks cheaper for an array parameter of known length);
-- * `set_config` and `pg_notify` are plain assignments, evaluated without an executor.
-- Behaviour is unchanged (see `20261206000000_one_round_trip.sql` for the arguments and the
-- rules, `20261207000000_inline_blobs.sql` for the commit without waiting for its flush).
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
           array_agg(p.xid < h.horizon ORDER BY p.xid, p.seq)
    INTO seqs, sites, ready
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
    -- payload names this node, which skips it).
    done := set_config('synchronous_commit', 'off', true);
    done := pg_notify(channel, node)::text;
END
$$;
