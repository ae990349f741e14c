-- Analysable metric values (issue: OTLP-native metrics): the ONE place that turns stored metric points
-- (005: kind, temporality, monotonic, start_ns, hist) into series values as OpenTelemetry means them.
-- Every reader that analyses or charts values (pipeline: context load, window ranking, anomaly
-- detection; backend: /query/metrics) reads metric_values() instead of metric_points.value.
--
-- What a reader sees, per stored kind (series identity: service, name, labels; the derivation also
-- keeps points of different resources (instances) and scopes apart, so two instances' counters never
-- difference against each other — their rates are then points of the same output series):
--   gauge (kind 0)                         the value, as stored (native JSON metrics: unchanged).
--   sum, cumulative, monotonic (counter)   a per-second RATE under the metric's own name:
--                                          (v - prev) / (ts - prev_ts) between consecutive points;
--                                          a reset (v < prev, or start_ns changed: the sender
--                                          restarted) gives v / (ts - start_ns) when start_ns is
--                                          known, else no value; a series' first point (no earlier
--                                          point within LOOKBACK, 10 minutes) gives no value. A
--                                          counter that only grows is a flat rate, never an anomaly.
--   sum, cumulative, not monotonic         the value (an up-down counter is a level).
--   sum, delta (monotonic or not)          a per-second rate v / (ts - start_ns) when start_ns is
--                                          known and before ts, else the value as sent.
--   sum, unspecified temporality           the value.
--   histogram (2), exponential (3)         per interval (the difference of consecutive cumulative
--                                          points, reset rules as for counters; a delta point is its
--                                          own interval): <name>.p50, <name>.p95, <name>.p99 by linear
--                                          interpolation within buckets (Prometheus' histogram_quantile:
--                                          the first bucket starts at 0 when its bound is positive, a
--                                          quantile in the +Inf bucket is the highest finite bound;
--                                          exponential buckets (base^i, base^(i+1)], base =
--                                          2^(2^-scale), merged to the lower scale of the two points),
--                                          and <name>.count as a per-second rate (delta points: count
--                                          / (ts - start_ns), or the count when start_ns is unknown).
--                                          An interval with no observation has no quantiles.
--   summary (4)                            <name>.p<100q> per quantile sent (0.5 -> .p50, 0.999 ->
--                                          .p99.9), as sent; <name>.count as a counter rate (summaries
--                                          are cumulative).

-- Points that are not gauges are read back this far before `lo` for their previous point.
CREATE FUNCTION metric_lookback_ns() RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT 600000000000::bigint $$;

-- A JSON array of numbers as float8[] (NULL/absent: empty). One cast, no per-element query.
CREATE FUNCTION metric_jarr(a jsonb) RETURNS double precision[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT coalesce(translate(a::text, '[]', '{}')::double precision[], '{}') $$;

-- The name suffix of quantile q: 0.5 -> 'p50', 0.95 -> 'p95', 0.999 -> 'p99.9'.
CREATE FUNCTION metric_quantile_suffix(q double precision) RETURNS text LANGUAGE sql IMMUTABLE STRICT
    PARALLEL SAFE AS $$ SELECT 'p' || rtrim(rtrim(round((q * 100)::numeric, 6)::text, '0'), '.') $$;

-- Stored names that can produce the analysable names in `names` (a name, or it without a derived
-- suffix): lets metric_values() select stored points by name through the (service, name, ts_ns) index.
CREATE FUNCTION metric_value_stems(names text[]) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT names || array(SELECT regexp_replace(n, '\.(p[0-9.]+|count)$', '') FROM unnest(names) n) $$;

-- Per-second rate of a cumulative counter at a point (v, ts, start) after (pv, pts, pstart); NULL when
-- there is none (first point; reset with no known start).
CREATE FUNCTION metric_counter_rate(v double precision, ts bigint, start bigint, pv double precision,
                                    pts bigint, pstart bigint)
    RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN pts IS NULL THEN NULL
        WHEN v < pv OR start <> pstart THEN
            CASE WHEN start < ts THEN v / ((ts - start) / 1e9::double precision) END
        WHEN ts > pts THEN (v - pv) / ((ts - pts) / 1e9::double precision)
    END $$;

-- One side (positive or negative) of an exponential histogram as (offset, counts), its indexes merged
-- down by `shift` scale steps (index >> shift).
CREATE FUNCTION metric_exp_side(side jsonb, shift integer, OUT o bigint, OUT c double precision[])
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    src double precision[] := metric_jarr(side->'counts');
    so bigint := coalesce((side->>'offset')::bigint, 0);
    t integer;
BEGIN
    o := floor(so / power(2::double precision, shift));
    c := '{}';
    FOR j IN 1 .. coalesce(array_length(src, 1), 0) LOOP
        t := floor((so + j - 1) / power(2::double precision, shift)) - o + 1;
        c[t] := coalesce(c[t], 0) + src[j];
    END LOOP;
END $$;

-- (co, cc) minus (po, pc), aligned by index; c NULL when a bucket went down (a reset).
CREATE FUNCTION metric_exp_diff(co bigint, cc double precision[], po bigint, pc double precision[],
                                OUT o bigint, OUT c double precision[])
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    nc integer := coalesce(array_length(cc, 1), 0);
    np integer := coalesce(array_length(pc, 1), 0);
    e bigint;
    v double precision;
BEGIN
    c := '{}';
    o := CASE WHEN nc = 0 THEN po WHEN np = 0 THEN co ELSE least(co, po) END;
    e := greatest(CASE WHEN nc > 0 THEN co + nc END, CASE WHEN np > 0 THEN po + np END) - 1;
    FOR idx IN o .. coalesce(e, o - 1) LOOP
        v := coalesce(cc[idx - co + 1], 0) - coalesce(pc[idx - po + 1], 0);
        IF v < 0 THEN
            c := NULL;
            RETURN;
        END IF;
        c[idx - o + 1] := v;
    END LOOP;
END $$;

-- Quantiles `qs` of a histogram interval: the point `cur` minus `prev` (prev NULL: the point itself).
-- kind 2 explicit, 3 exponential (shapes: see 005). Returns one value per q (NULL for an interval with
-- no observation), or NULL when the two points do not difference (bounds changed, a bucket went down).
CREATE FUNCTION metric_hist_quantiles(kind smallint, cur jsonb, prev jsonb, qs double precision[])
    RETURNS double precision[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    lo double precision[] := '{}';
    hi double precision[] := '{}';
    n double precision[] := '{}';
    b double precision[];
    c double precision[];
    pc double precision[];
    k integer;
    s integer;
    cs integer;
    ps integer;
    base_log double precision; -- log2(base) = 2^-scale
    neg record;
    pos record;
    pneg record;
    ppos record;
    z double precision;
    zt double precision;
    total double precision := 0;
    rank double precision;
    cum double precision;
    res double precision[] := '{}';
BEGIN
    IF kind = 2 THEN
        c := metric_jarr(cur->'counts');
        k := coalesce(array_length(c, 1), 0);
        IF prev IS NOT NULL THEN
            pc := metric_jarr(prev->'counts');
            IF prev->'bounds' IS DISTINCT FROM cur->'bounds' OR coalesce(array_length(pc, 1), 0) <> k THEN
                RETURN NULL;
            END IF;
            FOR i IN 1 .. k LOOP
                c[i] := c[i] - pc[i];
                IF c[i] < 0 THEN RETURN NULL; END IF;
            END LOOP;
        END IF;
        b := metric_jarr(cur->'bounds');
        FOR i IN 1 .. k LOOP
            lo[i] := CASE WHEN i > 1 THEN b[i - 1] WHEN k > 1 AND b[1] > 0 THEN 0 ELSE '-Infinity' END;
            hi[i] := CASE WHEN i < k THEN b[i] ELSE 'Infinity' END;
            n[i] := c[i];
        END LOOP;
    ELSIF kind = 3 THEN
        cs := (cur->>'scale')::integer;
        s := cs;
        IF prev IS NOT NULL THEN
            ps := (prev->>'scale')::integer;
            s := least(cs, ps);
        END IF;
        neg := metric_exp_side(cur->'negative', cs - s);
        pos := metric_exp_side(cur->'positive', cs - s);
        z := coalesce((cur->>'zero_count')::double precision, 0);
        IF prev IS NOT NULL THEN
            pneg := metric_exp_side(prev->'negative', ps - s);
            ppos := metric_exp_side(prev->'positive', ps - s);
            neg := metric_exp_diff(neg.o, neg.c, pneg.o, pneg.c);
            pos := metric_exp_diff(pos.o, pos.c, ppos.o, ppos.c);
            z := z - coalesce((prev->>'zero_count')::double precision, 0);
            IF neg.c IS NULL OR pos.c IS NULL OR z < 0 THEN RETURN NULL; END IF;
        END IF;
        base_log := power(2::double precision, -s);
        zt := coalesce((cur->>'zero_threshold')::double precision, 0);
        k := 0;
        -- ascending values: negative buckets from the highest index down, the zero bucket, positive up
        FOR j IN REVERSE coalesce(array_length(neg.c, 1), 0) .. 1 LOOP
            k := k + 1;
            lo[k] := -power(2::double precision, (neg.o + j) * base_log);
            hi[k] := -power(2::double precision, (neg.o + j - 1) * base_log);
            n[k] := neg.c[j];
            total := total + neg.c[j];
        END LOOP;
        k := k + 1;
        lo[k] := CASE WHEN total > 0 THEN -zt ELSE 0 END;
        hi[k] := zt;
        n[k] := z;
        FOR j IN 1 .. coalesce(array_length(pos.c, 1), 0) LOOP
            k := k + 1;
            lo[k] := power(2::double precision, (pos.o + j - 1) * base_log);
            hi[k] := power(2::double precision, (pos.o + j) * base_log);
            n[k] := pos.c[j];
        END LOOP;
    ELSE
        RETURN NULL;
    END IF;
    total := 0;
    FOR i IN 1 .. coalesce(array_length(n, 1), 0) LOOP
        total := total + n[i];
    END LOOP;
    FOR qi IN 1 .. coalesce(array_length(qs, 1), 0) LOOP
        res[qi] := NULL;
        CONTINUE WHEN total <= 0;
        rank := qs[qi] * total;
        cum := 0;
        FOR i IN 1 .. array_length(n, 1) LOOP
            IF n[i] > 0 AND cum + n[i] >= rank THEN
                res[qi] := CASE
                    WHEN hi[i] = 'Infinity' THEN CASE WHEN lo[i] > '-Infinity' THEN lo[i] END
                    WHEN lo[i] = '-Infinity' THEN hi[i]
                    ELSE lo[i] + (hi[i] - lo[i]) * ((rank - cum) / n[i])
                END;
                EXIT;
            END IF;
            cum := cum + n[i];
        END LOOP;
    END LOOP;
    RETURN res;
END $$;

-- Analysable values of the points with ts_ns in [lo_ns, hi_ns), of `services` and of analysable
-- `names` (NULL: all). Rows in no particular order; callers sort. See the table at the top of this
-- file for what each kind gives. An SQL function (inlined into the caller's statement): gauges are one
-- pass over metric_points with no sort; only points that are not gauges are windowed per series.
CREATE FUNCTION metric_values(lo_ns bigint, hi_ns bigint, services text[] DEFAULT NULL,
                              names text[] DEFAULT NULL)
    RETURNS TABLE (ts_ns bigint, service text, name text, labels jsonb, value double precision)
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
SELECT p.ts_ns, p.service, p.name, p.labels,
       CASE WHEN p.kind = 1 AND p.temporality = 1 AND p.start_ns > 0 AND p.start_ns < p.ts_ns
            THEN p.value / ((p.ts_ns - p.start_ns) / 1e9::double precision) ELSE p.value END
  FROM metric_points p
 WHERE p.ts_ns >= lo_ns AND p.ts_ns < hi_ns
   AND (services IS NULL OR p.service = ANY (services))
   AND (names IS NULL OR p.name = ANY (names))
   AND (p.kind = 0 OR (p.kind = 1 AND NOT (p.temporality = 2 AND p.monotonic)))
UNION ALL
SELECT d.ts_ns, d.service, d.name || v.suffix, d.labels, v.value
  FROM (SELECT w.*,
               CASE WHEN w.kind <> 1 AND w.temporality = 1 THEN
                        CASE WHEN w.start > 0 AND w.start < w.ts_ns
                             THEN w.value / ((w.ts_ns - w.start) / 1e9::double precision) ELSE w.value END
                    ELSE metric_counter_rate(w.value, w.ts_ns, w.start, w.pv, w.pts, w.pstart) END AS rate,
               -- the interval a histogram's quantiles describe: the point minus `prev` (NULL: itself)
               CASE WHEN w.temporality = 1 THEN 'self'
                    WHEN w.pts IS NULL THEN NULL
                    WHEN w.value < w.pv OR w.start <> w.pstart THEN CASE WHEN w.start < w.ts_ns THEN 'self' END
                    ELSE 'diff' END AS mode
          FROM (SELECT p.ts_ns, p.service, p.name, p.labels, p.kind, p.temporality, p.value, p.hist,
                       nullif(p.start_ns, 0) AS start,
                       lag(p.ts_ns) OVER s AS pts, lag(p.value) OVER s AS pv,
                       nullif(lag(p.start_ns) OVER s, 0) AS pstart, lag(p.hist) OVER s AS phist
                  FROM metric_points p
                 WHERE p.ts_ns >= lo_ns - metric_lookback_ns() AND p.ts_ns < hi_ns
                   AND (services IS NULL OR p.service = ANY (services))
                   AND (names IS NULL OR p.name = ANY (metric_value_stems(names)))
                   AND p.kind <> 0 AND (p.kind <> 1 OR (p.temporality = 2 AND p.monotonic))
                WINDOW s AS (PARTITION BY p.service, p.name, p.labels, p.resource_hash, p.scope_name
                             ORDER BY p.ts_ns)) w
         WHERE w.ts_ns >= lo_ns) d
 CROSS JOIN LATERAL (
        SELECT '' AS suffix, d.rate AS value WHERE d.kind = 1
        UNION ALL
        SELECT '.count', d.rate WHERE d.kind <> 1
        UNION ALL
        SELECT '.' || x.s, x.q
          FROM unnest(ARRAY['p50', 'p95', 'p99'],
                      metric_hist_quantiles(d.kind, d.hist, CASE d.mode WHEN 'diff' THEN d.phist END,
                                            '{0.5,0.95,0.99}')) x(s, q)
         WHERE d.kind IN (2, 3) AND d.mode IS NOT NULL
        UNION ALL
        SELECT '.' || metric_quantile_suffix((e->>0)::double precision), (e->>1)::double precision
          FROM jsonb_array_elements(CASE WHEN d.kind = 4 THEN d.hist->'quantiles' END) e) v
 WHERE v.value IS NOT NULL AND (names IS NULL OR d.name || v.suffix = ANY (names))
$$;

-- Points that are not gauges, for the windowed branch above (none in a native-JSON-only store).
CREATE INDEX metric_points_not_gauge ON metric_points (ts_ns) WHERE kind <> 0;

-- The analysable names points of `kind` named `name` give in metric_values() (for listings: the
-- dashboard's metric names). Summaries: one per quantile in `hist` (NULL hist: .count only). Keep in
-- step with the suffixes metric_values() emits above.
CREATE FUNCTION metric_value_names(kind smallint, name text, hist jsonb) RETURNS SETOF text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT name WHERE kind IN (0, 1)
UNION ALL
SELECT name || s FROM unnest(ARRAY['.p50', '.p95', '.p99', '.count']) s WHERE kind IN (2, 3)
UNION ALL
SELECT name || '.count' WHERE kind = 4
UNION ALL
SELECT name || '.' || metric_quantile_suffix((e->>0)::double precision)
  FROM jsonb_array_elements(CASE WHEN kind = 4 AND jsonb_typeof(hist->'quantiles') = 'array'
                                 THEN hist->'quantiles' END) e
$$;
