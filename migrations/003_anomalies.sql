-- Metric anomaly episodes found by the pipeline's detector, with the change events suspected of
-- causing them. The detector's progress per series is kept so each run reads only new points.

CREATE TABLE anomaly_episodes (
    id          bigserial        PRIMARY KEY,
    service     text             NOT NULL,
    metric      text             NOT NULL,
    labels      jsonb            NOT NULL DEFAULT '{}',
    start_ns    bigint           NOT NULL,
    end_ns      bigint           NOT NULL,
    baseline    double precision NOT NULL,
    peak        double precision NOT NULL,
    pct_change  double precision NOT NULL,
    peak_z      double precision NOT NULL,
    direction   smallint         NOT NULL,
    points      integer          NOT NULL,
    seasonal    boolean          NOT NULL DEFAULT false,
    suspects    jsonb            NOT NULL DEFAULT '[]',  -- [{type, service, ts_ns, description, confidence, evidence}]
    explanation text             NOT NULL,               -- says so when no change event explains it
    incident_id bigint           REFERENCES incidents (id),
    created_at  timestamptz      NOT NULL DEFAULT now(),
    updated_at  timestamptz      NOT NULL DEFAULT now(),
    UNIQUE (service, metric, labels, start_ns)
);
CREATE INDEX anomaly_episodes_time ON anomaly_episodes (start_ns DESC);
CREATE INDEX anomaly_episodes_service ON anomaly_episodes (service, start_ns DESC);

CREATE TABLE detector_progress (
    service      text   NOT NULL,
    metric       text   NOT NULL,
    labels       jsonb  NOT NULL DEFAULT '{}',
    scanned_to_ns bigint NOT NULL,
    PRIMARY KEY (service, metric, labels)
);
