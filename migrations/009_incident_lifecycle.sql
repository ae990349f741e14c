-- The lifecycle of incidents (issue 15): every transition is an event row; incidents resolve by a timer
-- on arrival time, recur as new incidents linked to the previous one, group under a parent (one fault,
-- one incident) and page once. common/incident_rows.c is the only writer of these columns and events.
--
--   last_activity_at  when a trace last joined, or a degraded window last confirmed it (arrival time, not
--                     event time: a replayed old dataset does not resolve at once)
--   resolved_at       when it resolved (status 'resolved')
--   parent_id         the incident it is grouped under (grouped children never page)
--   group_reason      why ("root service payment matches incident #12 opened 2 min earlier")
--   previous_id       the resolved incident of the same fingerprint it recurs
--   paged_at          when its page was queued (NULL: it never paged; then it sends no resolve either)
--   healthy_windows   degradations: consecutive healthy windows since the last degraded one

ALTER TABLE incidents
    ADD COLUMN last_activity_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN resolved_at      timestamptz,
    ADD COLUMN parent_id        bigint REFERENCES incidents (id),
    ADD COLUMN group_reason     text,
    ADD COLUMN previous_id      bigint REFERENCES incidents (id),
    ADD COLUMN paged_at         timestamptz,
    ADD COLUMN healthy_windows  integer NOT NULL DEFAULT 0;
UPDATE incidents SET last_activity_at = updated_at;
UPDATE incidents SET resolved_at = updated_at WHERE status = 'resolved';
-- incidents opened before paging was recorded had their alert sent at once: count them as paged
UPDATE incidents SET paged_at = created_at;

-- the resolve timer's scan, grouping's look-up of open parents, the children of a parent
CREATE INDEX incidents_open_activity ON incidents (last_activity_at) WHERE status = 'open';
CREATE INDEX incidents_open_root ON incidents (root_service, created_at) WHERE status = 'open' AND parent_id IS NULL;
CREATE INDEX incidents_parent ON incidents (parent_id) WHERE parent_id IS NOT NULL;

CREATE TABLE incident_events (
    id          bigserial   PRIMARY KEY,
    incident_id bigint      NOT NULL REFERENCES incidents (id),
    kind        text        NOT NULL CHECK (kind IN ('opened', 'grouped', 'escalated', 'paged', 'resolved',
                                                     'reopened', 'recurred')),
    at          timestamptz NOT NULL DEFAULT now(),
    detail      text        NOT NULL DEFAULT ''
);
CREATE INDEX incident_events_incident ON incident_events (incident_id, at, id);

-- pipeline: writes the events (append-only for it); reads come from the default privileges of 007
GRANT INSERT ON incident_events TO prodsentinel_pipeline;
GRANT USAGE ON SEQUENCE incident_events_id_seq TO prodsentinel_pipeline;
GRANT SELECT ON incident_events TO prodsentinel_query, prodsentinel_pipeline;
