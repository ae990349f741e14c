-- Alert destinations users already have, silences, and a sender that several pipelines share
-- (issue 15 points 3-4, issue 14 point 9, issue 16).
--
-- alert_deliveries.destination no longer holds the webhook URL (a secret: the token is in its path) but
-- the destination's id from ALERT_WEBHOOKS (common/alert_dest.h): "<type>:<host[:port]>#<h>", <h> the first
-- 4 hex digits of SHA-256(target), or "pagerduty#<h>", or the entry's ;name=. The sender looks the target
-- up in its configuration at send time. Rows stored before get the id the same entry derives today, so
-- what was pending is still sent when the destination is still configured (and abandoned otherwise).
UPDATE alert_deliveries
   SET destination = format || ':'
       || regexp_replace(substring(destination FROM '://([^/?#[:space:]\\]*)'), '^.*@', '') || '#'
       || left(encode(sha256(convert_to(destination, 'UTF8')), 'hex'), 4)
 WHERE destination ~ '^[A-Za-z][A-Za-z0-9+.-]*://';

ALTER TABLE alert_deliveries DROP CONSTRAINT IF EXISTS alert_deliveries_format_check;
ALTER TABLE alert_deliveries ADD CONSTRAINT alert_deliveries_format_check
    CHECK (format IN ('json', 'slack', 'teams', 'pagerduty', 'alertmanager'));

-- The incident an alert is about (silences match it; a resolve follows its trigger; /query/alerts shows
-- it) and its severity (each destination's min_severity).
ALTER TABLE alert_deliveries ADD COLUMN incident_id bigint;
ALTER TABLE alert_deliveries ADD COLUMN severity text NOT NULL DEFAULT 'error'
    CHECK (severity IN ('critical', 'error', 'warning', 'info'));
UPDATE alert_deliveries SET incident_id = (payload->>'incident_id')::bigint
 WHERE jsonb_typeof(payload->'incident_id') = 'number';
CREATE INDEX alert_deliveries_incident ON alert_deliveries (incident_id, destination);
CREATE INDEX alert_deliveries_sending ON alert_deliveries (next_attempt_at) WHERE state = 'sending';

COMMENT ON COLUMN alert_deliveries.state IS
    'pending (due at next_attempt_at), sending (claimed by one pipeline until next_attempt_at, its lease), '
    'delivered, suppressed (report below ALERT_MIN_CONFIDENCE), silenced (an active silence matched), '
    'filtered (below the destination''s min_severity), failed (permanent 4xx), abandoned (destination '
    'no longer configured)';
COMMENT ON COLUMN alert_deliveries.destination IS
    'the destination''s id (common/alert_dest.h), never its URL or routing key';

-- Silences: while now() is in [starts_at, ends_at), alerts about an incident of `service` (and of
-- `endpoint`, when given) are stored 'silenced' and not sent. Deleting one through the API expires it
-- (ends_at = now()): the row stays, so the list shows what was silenced when.
CREATE TABLE silences (
    id         bigserial   PRIMARY KEY,
    service    text        NOT NULL,
    endpoint   text,
    starts_at  timestamptz NOT NULL DEFAULT now(),
    ends_at    timestamptz NOT NULL,
    comment    text,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at >= starts_at)
);
CREATE INDEX silences_service ON silences (service, ends_at);

-- Roles (007_roles.sql): the query API creates and expires silences (ADMIN key); the pipeline reads them
-- (SELECT by default privileges) and already writes alert_deliveries.
GRANT INSERT ON silences TO prodsentinel_query;
GRANT UPDATE (starts_at, ends_at) ON silences TO prodsentinel_query;
GRANT USAGE ON SEQUENCE silences_id_seq TO prodsentinel_query;
