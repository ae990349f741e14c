-- Durability of triggers, the LLM budget and terminal alert states (issue 14, points 11 and 12).
--
-- pending_triggers: a row now stays until the pipeline commits the trace's analysis (or dead-letters
-- its job), in the same transaction; the backend's debounce only marks when it handed the trace to the
-- Redis stream, and hands it over again when no analysis came after TRIGGER_RESEND_MS (the stream
-- entry was lost with Redis). A row whose last_seen_ms is after handed_at_ms had a newer error after
-- the hand-over: the debounce hands it over again and the pipeline leaves it for that next round.
ALTER TABLE pending_triggers ADD COLUMN handed_at_ms bigint;  -- NULL: not yet in the stream
CREATE INDEX pending_triggers_handed ON pending_triggers (handed_at_ms) WHERE handed_at_ms IS NOT NULL;

-- LLM calls per clock hour, shared by every pipeline process (LLM_MAX_CALLS_PER_HOUR): a worker takes
-- one call by incrementing its hour's row while it is under the budget (the row lock orders workers).
CREATE TABLE llm_budget (
    hour  timestamptz PRIMARY KEY,  -- date_trunc('hour', now())
    calls integer     NOT NULL
);

-- alert_deliveries.state gains two terminal states: 'failed' (the destination answered a permanent
-- 4xx too many times; last_error holds its status and the start of its answer) and 'abandoned' (the
-- destination is no longer in ALERT_WEBHOOKS).
COMMENT ON COLUMN alert_deliveries.state IS 'pending, delivered, suppressed, failed, abandoned';

-- Roles (007_roles.sql): the backend's debounce marks hand-overs and no longer deletes; the pipeline
-- consumes triggers with its analyses and keeps the LLM budget.
REVOKE DELETE ON pending_triggers FROM prodsentinel_ingest;
GRANT UPDATE (handed_at_ms) ON pending_triggers TO prodsentinel_ingest;
GRANT DELETE ON pending_triggers TO prodsentinel_pipeline;
GRANT SELECT, INSERT, UPDATE, DELETE ON llm_budget TO prodsentinel_pipeline;
