-- One suspect model (issue 15, points 5 and 6): feedback that names a suspect, the labels the priors
-- learn from, and the arrival time of metric points so the anomaly detector scans late points.

-- Feedback may name one suspect of the analysis it judges ("suspect:<n>", the index in that analysis's
-- evidence.suspects) and say whether it was the cause; true_cause (002) is now written from the API.
ALTER TABLE feedback
    ADD COLUMN suspect_index     integer CHECK (suspect_index >= 0),
    ADD COLUMN suspect_was_cause boolean,
    ADD CONSTRAINT feedback_suspect_judged CHECK ((suspect_index IS NULL) = (suspect_was_cause IS NULL));

-- An analysis's suspects best first: the highest confidence (older analyses stored a score or a
-- proximity instead: that), then the stored order; never simply the oldest change. idx is the suspect's
-- place in the stored array (its id "suspect:<idx>"), rank 1 the top suspect. The one ordering the
-- suspects API, the priors and the accuracy use.
CREATE FUNCTION suspects_by_confidence(sus jsonb) RETURNS TABLE (rank int, idx int, suspect jsonb)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT (row_number() OVER (ORDER BY
            CASE WHEN jsonb_typeof(x.e->'confidence') = 'number' THEN (x.e->>'confidence')::float8 END
                DESC NULLS LAST,
            CASE WHEN jsonb_typeof(x.e->'score') = 'number' THEN (x.e->>'score')::float8
                 WHEN jsonb_typeof(x.e->'proximity') = 'number' THEN (x.e->>'proximity')::float8 END
                DESC NULLS LAST,
            x.i))::int,
       (x.i - 1)::int, x.e
  FROM jsonb_array_elements(CASE WHEN jsonb_typeof(sus) = 'array' THEN sus ELSE '[]'::jsonb END)
       WITH ORDINALITY x(e, i)
$$;
GRANT EXECUTE ON FUNCTION suspects_by_confidence(jsonb) TO prodsentinel_query, prodsentinel_pipeline;

-- The suspect labels, one row per labelled incident (its latest feedback), judged against the analysis
-- that feedback was given on. The one definition the priors (pipeline/priors.c) and the accuracy
-- (GET /query/accuracy) read:
--   top_*        the analysis's top suspect (suspects_by_confidence rank 1)
--   judged_*     the suspect the feedback judged: the one it names, else the top one
--   judged_cause whether the judged suspect was the cause: as the feedback says when it names one;
--                else, with a true_service, whether that is the top suspect's service; else the verdict
--                on the named root cause (right: the top suspect stands)
--   top_cause    whether the top suspect was the cause: judged_cause when the top one was judged; false
--                when another suspect was named as the cause; NULL when another was named as not the
--                cause (nothing is known of the top one)
CREATE VIEW suspect_labels AS
WITH latest AS (
    SELECT DISTINCT ON (f.incident_id) f.*
      FROM feedback f
     ORDER BY f.incident_id, f.created_at DESC, f.id DESC),
judged AS (
    SELECT l.incident_id, l.verdict, l.true_service, l.suspect_index, l.suspect_was_cause,
           a.evidence->'suspects' AS sus,
           (SELECT r.idx FROM suspects_by_confidence(a.evidence->'suspects') r WHERE r.rank = 1) AS top_index,
           jsonb_array_length(CASE WHEN jsonb_typeof(a.evidence->'suspects') = 'array'
                                   THEN a.evidence->'suspects' ELSE '[]'::jsonb END) AS n
      FROM latest l
      JOIN analyses a ON a.id = l.analysis_id),
decided AS (
    SELECT j.*, coalesce(j.suspect_index, j.top_index) AS judged_index,
           CASE WHEN j.suspect_index IS NOT NULL THEN j.suspect_was_cause
                WHEN j.true_service IS NOT NULL THEN j.true_service = (j.sus->j.top_index->>'service')
                ELSE j.verdict = 'right' END AS judged_cause
      FROM judged j
     WHERE j.top_index IS NOT NULL)
SELECT incident_id, verdict, true_service,
       top_index, sus->top_index->>'type' AS top_type, sus->top_index->>'service' AS top_service,
       judged_index, sus->judged_index->>'type' AS judged_type, sus->judged_index->>'service' AS judged_service,
       coalesce(judged_cause, false) AS judged_cause,
       CASE WHEN judged_index = top_index THEN coalesce(judged_cause, false)
            WHEN judged_cause THEN false END AS top_cause
  FROM decided
 WHERE judged_index < n;

-- When a metric point arrived (epoch ns, the database's clock at insert). The anomaly detector scans
-- points by arrival, so a point that arrives late (a Collector retrying after an outage, a backfill) is
-- still analysed, in its own time context. Writers never name the column: the default fills it, so the
-- ingest COPY columns are unchanged. Rows stored before this migration have none (they were scanned by
-- event time then). clock_timestamp(), not now(): the time the row was written, closer to its commit.
ALTER TABLE metric_points ADD COLUMN arrived_ns bigint;
ALTER TABLE metric_points ALTER COLUMN arrived_ns
    SET DEFAULT (extract(epoch FROM clock_timestamp()) * 1000000000)::bigint;
CREATE INDEX metric_points_arrival ON metric_points (arrived_ns) WHERE arrived_ns IS NOT NULL;

-- Episodes are linked to the open incident they explain by the pipeline (anomaly_episodes.incident_id,
-- 003); the lookup goes by service and time.
CREATE INDEX anomaly_episodes_unlinked ON anomaly_episodes (end_ns) WHERE incident_id IS NULL;

-- Roles (007): the view is readable by the readers (default privileges); nothing else changes.
GRANT SELECT ON suspect_labels TO prodsentinel_query, prodsentinel_pipeline;
