-- Least-privilege database roles (issue 14). The programs never connect as a superuser:
--
--   role                    who connects                        may
--   (the migrating user)    migrations (DATABASE_URL), retention owns every object; the only one that may
--                                                               UPDATE/DELETE/TRUNCATE, ALTER, detach, drop
--   prodsentinel_ingest     backend writers and debounce        INSERT into raw telemetry (partitions through
--                           (INGEST_DATABASE_URL)               ensure_raw_partitions(), SECURITY DEFINER);
--                                                               pending_triggers (write and mark, never
--                                                               delete: 008); temp staging tables
--   prodsentinel_query      backend query API and /ready        SELECT; INSERT feedback; UPDATE
--                           (QUERY_DATABASE_URL)                incidents (report_state, updated_at) for rerun
--   prodsentinel_pipeline   pipeline (PIPELINE_DATABASE_URL)    SELECT; INSERT analyses (append-only) and the
--                                                               analysis tables' rows; UPDATE incidents,
--                                                               alert_deliveries, anomaly_episodes,
--                                                               detector_progress; DELETE pending_triggers
--                                                               with its analysis (008)
--
-- Roles are cluster-wide: scripts/lib/stack.sh and docker/postgres-init/ create them (LOGIN, with or without
-- a password) before the first migration, so the owner needs no CREATEROLE. A superuser migrating a setup
-- made before this migration gets them created here, NOLOGIN (give them a password and LOGIN to use them).
-- A later migration that adds a table grants what each role needs there (SELECT for query and pipeline
-- is granted by default below).

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['prodsentinel_ingest', 'prodsentinel_query', 'prodsentinel_pipeline'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            EXCEPTION WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'role % is missing and % may not create roles', r, current_user
                    USING HINT = 'create the roles first (scripts/lib/stack.sh ps_pg_roles, '
                                 'docker/postgres-init/10-roles.sh)';
            END;
        END IF;
    END LOOP;
    -- no application role may be a superuser or own anything: refuse to grant to one
    IF EXISTS (SELECT 1 FROM pg_roles
                WHERE rolname IN ('prodsentinel_ingest', 'prodsentinel_query', 'prodsentinel_pipeline')
                  AND (rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls OR rolreplication)) THEN
        RAISE EXCEPTION 'an application role (prodsentinel_ingest, _query, _pipeline) has superuser, '
                        'createrole, createdb, bypassrls or replication: remove it';
    END IF;
    -- only these three (and the owner) connect; temporary tables only for the ingest staging path
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO prodsentinel_ingest, prodsentinel_query, '
                   'prodsentinel_pipeline', current_database());
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO prodsentinel_ingest', current_database());
END $$;

REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO prodsentinel_ingest, prodsentinel_query, prodsentinel_pipeline;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC;

-- Day partitions are created by the owner on the writers' behalf. SECURITY DEFINER with a fixed
-- search_path (pg_temp last, every name qualified) so a caller's temporary objects cannot stand in for ours.
CREATE OR REPLACE FUNCTION ensure_raw_partitions(day date) RETURNS void LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
        IF to_regclass(format('public.%I', part)) IS NULL THEN
            EXECUTE format('CREATE TABLE IF NOT EXISTS public.%I PARTITION OF public.%I FOR VALUES FROM (%s) TO (%s)',
                           part, t, lo, hi);
            EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON public.%I FOR EACH STATEMENT '
                           'EXECUTE FUNCTION public.raw_immutable()', part || '_no_truncate', part);
        END IF;
    END LOOP;
END $$;
REVOKE EXECUTE ON FUNCTION ensure_raw_partitions(date) FROM PUBLIC;

-- Analyses are append-only: a re-analysis is a new version (a new row), never an edit.
CREATE FUNCTION append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused (a new version is a new row)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER analyses_append_only BEFORE UPDATE OR DELETE ON analyses FOR EACH STATEMENT
    EXECUTE FUNCTION append_only();
CREATE TRIGGER analyses_no_truncate BEFORE TRUNCATE ON analyses FOR EACH STATEMENT
    EXECUTE FUNCTION append_only();

-- ingest: raw telemetry INSERT only (COPY, and ON CONFLICT DO NOTHING from its temp staging tables)
GRANT INSERT ON spans, logs, metric_points, change_events, resources TO prodsentinel_ingest;
GRANT EXECUTE ON FUNCTION ensure_raw_partitions(date) TO prodsentinel_ingest;
-- the durable debounce: rows written with the records and bumped on conflict. The DELETE granted here
-- is revoked by 008_durable_triggers.sql: a row no longer leaves when the trace is enqueued, only with
-- the pipeline's committed analysis (or dead letter), which holds DELETE from then on.
GRANT SELECT, INSERT, DELETE ON pending_triggers TO prodsentinel_ingest;
GRANT UPDATE (last_seen_ms, errors) ON pending_triggers TO prodsentinel_ingest;

-- query: reads everything; its only writes are feedback and sending an incident back for a new report
GRANT SELECT ON ALL TABLES IN SCHEMA public TO prodsentinel_query;
GRANT INSERT ON feedback TO prodsentinel_query;
GRANT USAGE ON SEQUENCE feedback_id_seq TO prodsentinel_query;
GRANT UPDATE (report_state, updated_at) ON incidents TO prodsentinel_query;

-- pipeline: reads everything; writes analysis results (analyses: INSERT only)
GRANT SELECT ON ALL TABLES IN SCHEMA public TO prodsentinel_pipeline;
GRANT INSERT ON incidents, incident_traces, analyses, dead_letters, alert_deliveries, anomaly_episodes,
    detector_progress TO prodsentinel_pipeline;
GRANT UPDATE ON incidents, alert_deliveries, anomaly_episodes, detector_progress TO prodsentinel_pipeline;
GRANT USAGE ON SEQUENCE incidents_id_seq, analyses_id_seq, dead_letters_id_seq, alert_deliveries_id_seq,
    anomaly_episodes_id_seq TO prodsentinel_pipeline;

-- metric_values() and its helpers, for the readers (inlined SQL functions check their callees' EXECUTE)
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
              WHERE p.pronamespace = 'public'::regnamespace AND p.proname LIKE 'metric\_%' LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO prodsentinel_query, prodsentinel_pipeline', f);
    END LOOP;
END $$;

-- Tables added by later migrations are readable by the readers without a grant of their own.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO prodsentinel_query, prodsentinel_pipeline;
