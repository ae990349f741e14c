-- Alert deliveries: one row per (destination, alert); the sender thread retries with backoff until the
-- receiver answers 2xx, so a receiver that is down loses nothing. dedup_key keeps an alert from being
-- queued twice for the same destination.

CREATE TABLE alert_deliveries (
    id              bigserial   PRIMARY KEY,
    destination     text        NOT NULL,
    format          text        NOT NULL CHECK (format IN ('slack', 'json')),
    dedup_key       text        NOT NULL,
    kind            text        NOT NULL,  -- incident, degradation, report
    payload         jsonb       NOT NULL,
    confidence      double precision,
    state           text        NOT NULL DEFAULT 'pending',  -- pending, delivered, suppressed
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    UNIQUE (destination, dedup_key)
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (next_attempt_at) WHERE state = 'pending';
