-- Everything OpenTelemetry sends is kept (issue: OTLP-native ingest): resources stored once and referred
-- to by hash; scopes, trace state, flags, links and dropped counts on spans; severity number, observed
-- time, structured bodies and event names on logs; the kind, temporality, monotonicity, start time,
-- unit and shape (histogram buckets, exponential buckets, quantiles) of metric points. Columns are
-- appended, nullable or defaulted, so rows written before this migration read as before.

-- One row per distinct resource (service.name and every other resource attribute, canonical JSON).
-- Referred to by spans/logs/metric_points.resource_hash; written before the rows that refer to it, in
-- the same transaction. Append-only like the raw tables.
CREATE TABLE resources (
    resource_hash      uuid        PRIMARY KEY,
    service            text        NOT NULL,
    attributes         jsonb       NOT NULL DEFAULT '{}',
    schema_url         text,
    dropped_attributes integer     NOT NULL DEFAULT 0,
    first_seen         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX resources_service ON resources (service);
CREATE TRIGGER resources_immutable BEFORE UPDATE OR DELETE ON resources FOR EACH ROW
    EXECUTE FUNCTION raw_immutable();
CREATE TRIGGER resources_no_truncate BEFORE TRUNCATE ON resources FOR EACH STATEMENT
    EXECUTE FUNCTION raw_immutable();

ALTER TABLE spans
    ADD COLUMN resource_hash            uuid,
    ADD COLUMN scope_name               text,
    ADD COLUMN scope_version            text,
    ADD COLUMN trace_state              text,
    ADD COLUMN flags                    bigint,
    ADD COLUMN links                    jsonb   NOT NULL DEFAULT '[]',
    ADD COLUMN dropped_attributes_count integer NOT NULL DEFAULT 0,
    ADD COLUMN dropped_events_count     integer NOT NULL DEFAULT 0,
    ADD COLUMN dropped_links_count      integer NOT NULL DEFAULT 0;

ALTER TABLE logs
    ADD COLUMN resource_hash            uuid,
    ADD COLUMN scope_name               text,
    ADD COLUMN scope_version            text,
    ADD COLUMN severity_number          smallint,            -- OTLP 1..24 as sent
    ADD COLUMN observed_ns              bigint,
    ADD COLUMN body                     jsonb,               -- a body that is not a string, as sent
    ADD COLUMN flags                    bigint,
    ADD COLUMN event_name               text,
    ADD COLUMN dropped_attributes_count integer NOT NULL DEFAULT 0;

-- kind: 0 gauge, 1 sum, 2 histogram, 3 exponential histogram, 4 summary.
-- temporality (OTLP's numbering): 0 unspecified (gauges), 1 delta, 2 cumulative.
-- value: gauges and sums their value; histograms and summaries their count. hist: their shape,
--   histogram: {"count","sum"?,"min"?,"max"?,"bounds":[...],"counts":[...]}
--   exponential: {"count","sum"?,"min"?,"max"?,"scale","zero_count","zero_threshold",
--                 "positive":{"offset","counts"},"negative":{"offset","counts"}}
--   summary: {"count","sum","quantiles":[[q,v],...]}
ALTER TABLE metric_points
    ADD COLUMN resource_hash uuid,
    ADD COLUMN scope_name    text,
    ADD COLUMN scope_version text,
    ADD COLUMN kind          smallint NOT NULL DEFAULT 0,
    ADD COLUMN temporality   smallint NOT NULL DEFAULT 0,
    ADD COLUMN monotonic     boolean  NOT NULL DEFAULT false,
    ADD COLUMN start_ns      bigint,
    ADD COLUMN unit          text,
    ADD COLUMN hist          jsonb;
