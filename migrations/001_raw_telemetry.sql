-- Raw telemetry: spans, logs, metric points and change events. Append-only (the database refuses
-- UPDATE, DELETE and TRUNCATE), partitioned by day on the record's own time in epoch nanoseconds
-- (kept exactly: timestamptz would round nanoseconds away). Retention drops whole partitions.

CREATE FUNCTION raw_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'raw telemetry is immutable: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TABLE spans (
    trace_id        text     NOT NULL,
    span_id         text     NOT NULL,
    parent_span_id  text,
    service         text     NOT NULL,
    name            text     NOT NULL,
    kind            text,
    start_ns        bigint   NOT NULL,
    end_ns          bigint   NOT NULL,
    status          smallint NOT NULL DEFAULT 0,  -- 0 unset, 1 ok, 2 error
    status_message  text,
    attributes      jsonb    NOT NULL DEFAULT '{}',
    events          jsonb    NOT NULL DEFAULT '[]',
    PRIMARY KEY (trace_id, span_id, start_ns)
) PARTITION BY RANGE (start_ns);
CREATE INDEX spans_service_time ON spans (service, start_ns);

CREATE TABLE logs (
    ts_ns        bigint   NOT NULL,
    service      text     NOT NULL,
    level        text     NOT NULL,               -- as sent
    severity     smallint NOT NULL,               -- 1 trace 2 debug 3 info 4 warn 5 error 6 fatal
    message      text     NOT NULL,
    trace_id     text,
    span_id      text,
    stack_trace  text,
    attributes   jsonb    NOT NULL DEFAULT '{}',
    content_hash uuid     NOT NULL,               -- same content and time: same record
    UNIQUE (content_hash, ts_ns)
) PARTITION BY RANGE (ts_ns);
CREATE INDEX logs_trace ON logs (trace_id) WHERE trace_id IS NOT NULL;
CREATE INDEX logs_service_time ON logs (service, ts_ns);

CREATE TABLE metric_points (
    ts_ns      bigint           NOT NULL,
    service    text             NOT NULL,
    name       text             NOT NULL,
    value      double precision NOT NULL,
    labels     jsonb            NOT NULL DEFAULT '{}',
    point_hash uuid             NOT NULL,
    UNIQUE (point_hash, ts_ns)
) PARTITION BY RANGE (ts_ns);
CREATE INDEX metric_points_series ON metric_points (service, name, ts_ns);

CREATE TABLE change_events (
    ts_ns       bigint NOT NULL,
    service     text,
    type        text   NOT NULL,
    description text,
    meta        jsonb  NOT NULL DEFAULT '{}',
    event_hash  uuid   NOT NULL,
    UNIQUE (event_hash, ts_ns)
) PARTITION BY RANGE (ts_ns);
CREATE INDEX change_events_service_time ON change_events (service, ts_ns);

CREATE TRIGGER spans_immutable BEFORE UPDATE OR DELETE ON spans FOR EACH ROW EXECUTE FUNCTION raw_immutable();
CREATE TRIGGER logs_immutable BEFORE UPDATE OR DELETE ON logs FOR EACH ROW EXECUTE FUNCTION raw_immutable();
CREATE TRIGGER metric_points_immutable BEFORE UPDATE OR DELETE ON metric_points FOR EACH ROW
    EXECUTE FUNCTION raw_immutable();
CREATE TRIGGER change_events_immutable BEFORE UPDATE OR DELETE ON change_events FOR EACH ROW
    EXECUTE FUNCTION raw_immutable();
-- Statement-level too, so that even a statement matching no row is refused (the intent is the error).
CREATE TRIGGER spans_immutable_stmt BEFORE UPDATE OR DELETE ON spans FOR EACH STATEMENT
    EXECUTE FUNCTION raw_immutable();
CREATE TRIGGER logs_immutable_stmt BEFORE UPDATE OR DELETE ON logs FOR EACH STATEMENT
    EXECUTE FUNCTION raw_immutable();
CREATE TRIGGER metric_points_immutable_stmt BEFORE UPDATE OR DELETE ON metric_points FOR EACH STATEMENT
    EXECUTE FUNCTION raw_immutable();
CREATE TRIGGER change_events_immutable_stmt BEFORE UPDATE OR DELETE ON change_events FOR EACH STATEMENT
    EXECUTE FUNCTION raw_immutable();
CREATE TRIGGER spans_no_truncate BEFORE TRUNCATE ON spans FOR EACH STATEMENT EXECUTE FUNCTION raw_immutable();
CREATE TRIGGER logs_no_truncate BEFORE TRUNCATE ON logs FOR EACH STATEMENT EXECUTE FUNCTION raw_immutable();
CREATE TRIGGER metric_points_no_truncate BEFORE TRUNCATE ON metric_points FOR EACH STATEMENT
    EXECUTE FUNCTION raw_immutable();
CREATE TRIGGER change_events_no_truncate BEFORE TRUNCATE ON change_events FOR EACH STATEMENT
    EXECUTE FUNCTION raw_immutable();

-- Creates the day partitions holding `day` for every raw table (idempotent). Day partitions are
-- named <table>_pYYYYMMDD and cover [day 00:00 UTC, next day 00:00 UTC) in epoch nanoseconds.
CREATE FUNCTION ensure_raw_partitions(day date) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t text;
    lo bigint := (extract(epoch FROM day::timestamp AT TIME ZONE 'UTC'))::bigint * 1000000000;
    hi bigint := lo + 86400::bigint * 1000000000;
    part text;
BEGIN
    -- writers racing to create the same day wait for each other instead of failing
    PERFORM pg_advisory_xact_lock(7263515);
    FOREACH t IN ARRAY ARRAY['spans', 'logs', 'metric_points', 'change_events'] LOOP
        part := format('%s_p%s', t, to_char(day, 'YYYYMMDD'));
        IF to_regclass(part) IS NULL THEN
            EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES FROM (%s) TO (%s)',
                           part, t, lo, hi);
            EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT '
                           'EXECUTE FUNCTION raw_immutable()', part || '_no_truncate', part);
        END IF;
    END LOOP;
END $$;

-- Retention: drops whole day partitions that end before now() - keep_days, and nothing else.
-- Returns the names dropped.
CREATE FUNCTION drop_raw_partitions_older_than(keep_days integer) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    r record;
    cutoff date := (now() AT TIME ZONE 'UTC')::date - keep_days;
BEGIN
    FOR r IN
        SELECT c.relname AS name
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        JOIN pg_class p ON p.oid = i.inhparent
        WHERE p.relname IN ('spans', 'logs', 'metric_points', 'change_events')
          AND c.relname ~ '_p[0-9]{8}$'
          AND to_date(right(c.relname, 8), 'YYYYMMDD') < cutoff
        ORDER BY c.relname
    LOOP
        EXECUTE format('DROP TABLE %I', r.name);
        RETURN NEXT r.name;
    END LOOP;
END $$;

-- Error traces waiting for analysis: the durable side of the debounce. A row is written in the same
-- transaction as the error record that caused it, so no error trace is forgotten when Redis is down.
-- Handing the trace to the analysis queue does not remove it: the row leaves only in the transaction
-- that commits the trace's analysis (or dead-letters its job), so a Redis that loses the hand-over
-- loses no trigger (008_durable_triggers.sql: handed_at_ms, and who may delete).
CREATE TABLE pending_triggers (
    trace_id       text    PRIMARY KEY,
    first_seen_ms  bigint  NOT NULL,  -- when the backend received the first error
    last_seen_ms   bigint  NOT NULL,  -- ... and the latest one
    errors         integer NOT NULL DEFAULT 1
);
