-- Schema ready to scale out (issue 16, docs/scaling.md):
--   1. every unique key of a raw table holds the column the table would be distributed by on several
--      nodes (Citus: spans and logs by trace_id, so a trace is gathered from one shard; metric points by
--      service), so deduplication (ON CONFLICT DO NOTHING) stays a local check on one shard;
--   2. raw partitions sized by the backend's PARTITION_INTERVAL: a day (as before) or an hour, and
--      retention that drops both.

-- 1. Unique keys. spans' primary key (trace_id, span_id, start_ns) has trace_id already; change_events
-- is small and would be a reference table (copied to every node); resources likewise.
-- A log's content hash covers its trace id, so adding trace_id changes no deduplication; NULLS NOT
-- DISTINCT keeps logs without a trace deduplicated as before (NULL would otherwise never conflict).
ALTER TABLE logs DROP CONSTRAINT logs_content_hash_ts_ns_key;
ALTER TABLE logs ADD CONSTRAINT logs_record_key UNIQUE NULLS NOT DISTINCT (content_hash, ts_ns, trace_id);
-- A point's hash covers its service (the series identity), so adding service changes nothing either.
ALTER TABLE metric_points DROP CONSTRAINT metric_points_point_hash_ts_ns_key;
ALTER TABLE metric_points ADD CONSTRAINT metric_points_record_key UNIQUE (point_hash, ts_ns, service);

-- 2. Partitions of a day or of its hours. Names: <table>_pYYYYMMDD (a day), <table>_pYYYYMMDDHH (an
-- hour), each covering [start, end) in epoch nanoseconds, UTC. `hourly` chooses the size of the ones
-- created; a day already partitioned one way stays that way (a day partition and hour partitions of
-- the same day would overlap), so changing PARTITION_INTERVAL takes effect from the next new day.
-- SECURITY DEFINER as in 007 (the ingest role creates no tables itself); the default keeps the old
-- one-argument call working.
DROP FUNCTION ensure_raw_partitions(date);
CREATE FUNCTION ensure_raw_partitions(day date, hourly boolean DEFAULT false) RETURNS void LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t text;
    lo bigint := (extract(epoch FROM day::timestamp AT TIME ZONE 'UTC'))::bigint * 1000000000;
    hour_ns constant bigint := 3600::bigint * 1000000000;
    day_name text := to_char(day, 'YYYYMMDD');
    h integer;
    part text;
    by_hour boolean;
BEGIN
    -- writers racing to create the same day wait for each other instead of failing
    PERFORM pg_advisory_xact_lock(7263515);
    FOREACH t IN ARRAY ARRAY['spans', 'logs', 'metric_points', 'change_events'] LOOP
        CONTINUE WHEN to_regclass(format('public.%I', t || '_p' || day_name)) IS NOT NULL;
        -- hour partitions of this day already there (even under another setting): complete them
        SELECT hourly OR EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i
                                 JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
                                 WHERE i.inhparent = format('public.%I', t)::regclass
                                   AND c.relname ~ ('^' || t || '_p' || day_name || '[0-9]{2}$'))
          INTO by_hour;
        IF NOT by_hour THEN
            part := t || '_p' || day_name;
            EXECUTE format('CREATE TABLE public.%I PARTITION OF public.%I FOR VALUES FROM (%s) TO (%s)',
                           part, t, lo, lo + 24 * hour_ns);
            EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON public.%I FOR EACH STATEMENT '
                           'EXECUTE FUNCTION public.raw_immutable()', part || '_no_truncate', part);
            CONTINUE;
        END IF;
        FOR h IN 0..23 LOOP
            part := t || '_p' || day_name || lpad(h::text, 2, '0');
            CONTINUE WHEN to_regclass(format('public.%I', part)) IS NOT NULL;
            EXECUTE format('CREATE TABLE public.%I PARTITION OF public.%I FOR VALUES FROM (%s) TO (%s)',
                           part, t, lo + h * hour_ns, lo + (h + 1) * hour_ns);
            EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON public.%I FOR EACH STATEMENT '
                           'EXECUTE FUNCTION public.raw_immutable()', part || '_no_truncate', part);
        END LOOP;
    END LOOP;
END $$;
REVOKE EXECUTE ON FUNCTION ensure_raw_partitions(date, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ensure_raw_partitions(date, boolean) TO prodsentinel_ingest;

-- Retention: drops the raw partitions, of a day or of an hour, that end at or before
-- now() - keep_days days, and nothing else. Returns the names dropped. (Run by the owner.)
CREATE OR REPLACE FUNCTION drop_raw_partitions_older_than(keep_days integer) RETURNS SETOF text
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r record;
    cutoff timestamp := (now() AT TIME ZONE 'UTC') - make_interval(days => keep_days);
BEGIN
    FOR r IN
        SELECT c.relname AS name
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        JOIN pg_class p ON p.oid = i.inhparent
        JOIN pg_namespace n ON n.oid = p.relnamespace AND n.nspname = 'public'
        WHERE p.relname IN ('spans', 'logs', 'metric_points', 'change_events')
          AND c.relname ~ '_p[0-9]{8}([0-9]{2})?$'
          AND CASE WHEN c.relname ~ '_p[0-9]{10}$'
                   THEN to_date(left(right(c.relname, 10), 8), 'YYYYMMDD')
                        + (right(c.relname, 2)::integer + 1) * interval '1 hour'
                   ELSE to_date(right(c.relname, 8), 'YYYYMMDD')::timestamp + interval '1 day' END <= cutoff
        ORDER BY c.relname
    LOOP
        EXECUTE format('DROP TABLE public.%I', r.name);
        RETURN NEXT r.name;
    END LOOP;
END $$;
