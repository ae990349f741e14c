-- Analysis results: incidents (traces grouped by error fingerprint), their traces, versioned analyses
-- (never overwritten: a re-analysis adds a version), the dead-letter list of jobs that kept failing,
-- and engineers' feedback on a named root cause.

CREATE TABLE incidents (
    id              bigserial   PRIMARY KEY,
    fingerprint     text        NOT NULL,
    kind            text        NOT NULL DEFAULT 'error',   -- error, anomaly, degradation
    status          text        NOT NULL DEFAULT 'open',    -- open, resolved
    title           text        NOT NULL,
    root_service    text,
    root_operation  text,
    exception_type  text,
    first_seen      timestamptz NOT NULL,
    last_seen       timestamptz NOT NULL,
    trace_count     integer     NOT NULL DEFAULT 0,
    services        text[]      NOT NULL DEFAULT '{}',
    endpoints       text[]      NOT NULL DEFAULT '{}',
    sample_trace_id text,
    report_state    text        NOT NULL DEFAULT 'pending', -- pending, ready
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- One open incident per fingerprint: concurrent workers meet on this index.
CREATE UNIQUE INDEX incidents_open_fingerprint ON incidents (fingerprint) WHERE status = 'open';
CREATE INDEX incidents_last_seen ON incidents (last_seen DESC, id DESC);
CREATE INDEX incidents_root_service ON incidents (root_service, last_seen DESC);

CREATE TABLE incident_traces (
    incident_id bigint      NOT NULL REFERENCES incidents (id),
    trace_id    text        NOT NULL,
    added_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (incident_id, trace_id)
);
CREATE INDEX incident_traces_trace ON incident_traces (trace_id);

CREATE TABLE analyses (
    id                bigserial   PRIMARY KEY,
    incident_id       bigint      REFERENCES incidents (id),
    trace_id          text        NOT NULL,
    version           integer     NOT NULL,
    job_id            text        UNIQUE,        -- the queue message: a re-delivered job is stored once
    fingerprint       text,
    root_service      text,
    root_span_id      text,
    root_operation    text,
    exception_type    text,
    evidence          jsonb       NOT NULL,
    report            jsonb       NOT NULL,
    generated_by      text        NOT NULL,      -- llm, deterministic
    llm_model         text,
    llm_error         text,                      -- why the LLM's report was not used, if it was not
    prompt_tokens     integer,
    completion_tokens integer,
    llm_latency_ms    integer,
    analysis_cpu_us   integer,
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (trace_id, version)
);
CREATE INDEX analyses_incident ON analyses (incident_id, created_at DESC);

CREATE TABLE dead_letters (
    id         bigserial   PRIMARY KEY,
    job_id     text        NOT NULL UNIQUE,
    trace_id   text        NOT NULL,
    attempts   integer     NOT NULL,
    last_error text,
    failed_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE feedback (
    id           bigserial   PRIMARY KEY,
    incident_id  bigint      NOT NULL REFERENCES incidents (id),
    analysis_id  bigint      REFERENCES analyses (id),
    verdict      text        NOT NULL CHECK (verdict IN ('right', 'wrong')),
    true_service text,
    true_cause   text,
    comment      text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX feedback_incident ON feedback (incident_id, created_at DESC);
