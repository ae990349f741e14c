-- Data for the dashboard's browser test (psql -v ON_ERROR_STOP=1 -f seed.sql on a freshly migrated
-- database). Everything is placed relative to now():
--   * two hours of background traffic (gateway -> checkout -> payment/inventory/auth, entry spans only)
--     with payment failing and inventory slowing in the last 10 minutes, and the services' metrics
--     (requests_per_s, error_rate, p95_latency_ms every 15 s) with the same story;
--   * change events (a payment deploy 9 minutes ago, ...) and two anomaly episodes of payment;
--   * incidents: the newest is payment's DbTimeoutException, whose analysed trace has 5,000 spans with
--     the root cause deep inside, logs with stack traces and HTML-looking lines; one report by the LLM,
--     one deterministic after an LLM failure, one resolved, one anomaly without a report yet, and
--     9,995 older bulk incidents (10,000 in all).
\set ON_ERROR_STOP 1
SELECT (extract(epoch FROM now()) * 1e9)::bigint AS now_ns \gset
SELECT ensure_raw_partitions((now() AT TIME ZONE 'UTC')::date);
SELECT ensure_raw_partitions((now() AT TIME ZONE 'UTC')::date - 1);

-- ---------------------------------------------------------------- background traffic
-- One request every 2 s for 2 hours; each has 5 entry spans. g = 1 is the newest.
WITH req AS (
    SELECT g, :now_ns::bigint - g * 2000000000::bigint AS t, md5('bg' || g) AS trace_id,
           g <= 300 AS recent,                                  -- the last 10 minutes
           (g * 7919) % 100 AS r                                 -- a fixed pseudo-random 0..99
    FROM generate_series(1, 3600) g
), hop AS (
    SELECT * FROM (VALUES
        (0, NULL::int, 'gateway',   'GET /checkout',  40),
        (1, 0,         'checkout',  'POST /orders',   30),
        (2, 1,         'payment',   'POST /charge',   18),
        (3, 1,         'inventory', 'GET /stock',      6),
        (4, 0,         'auth',      'POST /verify',    3)) h(n, parent, service, name, base_ms)
)
INSERT INTO spans (trace_id, span_id, parent_span_id, service, name, kind, start_ns, end_ns, status,
                   status_message, attributes)
SELECT req.trace_id, substr(md5(req.trace_id || hop.n), 1, 16),
       CASE WHEN hop.parent IS NULL THEN NULL ELSE substr(md5(req.trace_id || hop.parent), 1, 16) END,
       hop.service, hop.name, 'SERVER', req.t + hop.n * 1000000,
       req.t + hop.n * 1000000 + (1000000 * (hop.base_ms + req.r % 7
           + CASE WHEN req.recent AND hop.service IN ('payment', 'checkout', 'gateway') AND req.r < 30 THEN 1900
                  WHEN req.recent AND hop.service = 'inventory' THEN 6 ELSE 0 END))::bigint,
       CASE WHEN req.recent AND req.r < 30 AND hop.service IN ('payment', 'checkout', 'gateway') THEN 2
            WHEN NOT req.recent AND req.r = 0 AND hop.service = 'payment' THEN 2
            ELSE 1 END,
       CASE WHEN req.recent AND req.r < 30 AND hop.service = 'payment' THEN 'DbTimeoutException' END,
       jsonb_build_object('http.route', hop.name)
FROM req CROSS JOIN hop;

-- Metrics every 15 s for 2 hours, per service.
WITH t AS (
    SELECT g, :now_ns::bigint - g * 15000000000::bigint AS ts, g <= 40 AS recent, (g * 31) % 10 AS r
    FROM generate_series(0, 480) g
), s AS (
    SELECT * FROM (VALUES ('gateway', 40.0), ('checkout', 30.0), ('payment', 18.0), ('inventory', 6.0),
                          ('auth', 3.0)) v(service, base_ms)
), m AS (
    SELECT t.ts, s.service, 'requests_per_s' AS name, 0.5 + t.r * 0.01 AS value FROM t, s
    UNION ALL
    SELECT t.ts, s.service, 'error_rate',
           CASE WHEN t.recent AND s.service IN ('payment', 'checkout', 'gateway') THEN 0.28 + t.r * 0.005
                ELSE 0.002 + t.r * 0.0003 END FROM t, s
    UNION ALL
    SELECT t.ts, s.service, 'p95_latency_ms',
           s.base_ms + t.r + CASE WHEN t.recent AND s.service IN ('payment', 'checkout', 'gateway') THEN 1900
                                  WHEN t.recent AND s.service = 'inventory' THEN 6 ELSE 0 END FROM t, s
)
INSERT INTO metric_points (ts_ns, service, name, value, labels, point_hash)
SELECT ts, service, name, value, '{}', md5(service || name || ts)::uuid FROM m;

INSERT INTO change_events (ts_ns, service, type, description, meta, event_hash) VALUES
    (:now_ns::bigint - 540 * 1000000000::bigint, 'payment', 'deploy', 'payment v2.3.1 (build 8812): connection pool 20 -> 5',
     '{"version": "2.3.1"}', md5('c1')::uuid),
    (:now_ns::bigint - 1800 * 1000000000::bigint, 'checkout', 'feature_flag', 'new-cart-ui enabled for 10%', '{}',
     md5('c2')::uuid),
    (:now_ns::bigint - 3000 * 1000000000::bigint, 'gateway', 'config', 'rate limit 500 -> 300 rps', '{}',
     md5('c3')::uuid),
    (:now_ns::bigint - 4200 * 1000000000::bigint, NULL, 'infra', 'database failover (primary moved to db-2)', '{}',
     md5('c4')::uuid);

INSERT INTO anomaly_episodes (service, metric, start_ns, end_ns, baseline, peak, pct_change, peak_z, direction,
                              points, suspects, explanation)
VALUES ('payment', 'error_rate', :now_ns::bigint - 600 * 1000000000::bigint, :now_ns::bigint - 15 * 1000000000::bigint,
        0.004, 0.33, 8150, 41.2, 1, 40,
        '[{"type": "deploy", "service": "payment", "description": "payment v2.3.1 (build 8812)", "confidence": 0.82,
           "evidence": "deployed 60 s before the rise, same service"}]',
        'error_rate of payment rose from 0.4% to 33% one minute after deploy payment v2.3.1'),
       ('payment', 'p95_latency_ms', :now_ns::bigint - 600 * 1000000000::bigint, :now_ns::bigint - 15 * 1000000000::bigint,
        22, 1925, 8650, 35.0, 1, 40, '[]', 'p95 of payment rose from 22 ms to 1.9 s');

-- ---------------------------------------------------------------- incidents
-- 9,995 older incidents, a day and more ago.
INSERT INTO incidents (fingerprint, kind, status, title, root_service, root_operation, exception_type, first_seen,
                       last_seen, trace_count, services, endpoints, report_state, sample_trace_id)
SELECT 'bulk' || g, 'error', CASE WHEN g % 3 = 0 THEN 'open' ELSE 'resolved' END,
       svc || ': ' || exc, svc, 'op ' || (g % 17), exc,
       now() - interval '1 day' - g * interval '37 seconds' - interval '20 minutes',
       now() - interval '1 day' - g * interval '37 seconds', 1 + g % 40, ARRAY['gateway', svc],
       ARRAY['gateway GET /checkout'], 'ready', md5('bulk' || g)
FROM (SELECT g, (ARRAY['inventory', 'auth', 'checkout', 'payment', 'gateway'])[1 + g % 5] AS svc,
             (ARRAY['java.net.SocketTimeoutException', 'KeyError', 'NullPointerException',
                    'ConnectionResetError', 'IllegalStateException', 'context deadline exceeded'])[1 + g % 6] AS exc
      FROM generate_series(1, 9995) g) b;

INSERT INTO incidents (fingerprint, kind, status, title, root_service, root_operation, exception_type, first_seen,
                       last_seen, trace_count, services, endpoints, report_state, sample_trace_id) VALUES
    ('seed-checkout-npe', 'error', 'resolved', 'checkout: java.lang.NullPointerException', 'checkout',
     'POST /orders', 'java.lang.NullPointerException', now() - interval '3 hours', now() - interval '2 hours', 17,
     ARRAY['gateway', 'checkout'], ARRAY['gateway GET /checkout'], 'ready', 'cafe0000000000000000000000000003'),
    ('seed-payment-anomaly', 'anomaly', 'open', 'payment: error_rate rose 8150%', 'payment', NULL, NULL,
     now() - interval '10 minutes', now() - interval '90 seconds', 0, ARRAY['payment'], '{}', 'pending', NULL),
    ('seed-inventory-slow', 'error', 'open', 'inventory: slow', 'inventory', 'SELECT stock', NULL,
     now() - interval '9 minutes', now() - interval '60 seconds', 5, ARRAY['gateway', 'checkout', 'inventory'],
     ARRAY['gateway GET /checkout'], 'ready', 'cafe0000000000000000000000000002'),
    ('seed-auth-401', 'error', 'open', 'auth: token signature invalid', 'auth', 'POST /verify',
     'InvalidSignatureError', now() - interval '7 minutes', now() - interval '30 seconds', 3,
     ARRAY['gateway', 'auth'], ARRAY['gateway GET /checkout'], 'pending', NULL),
    ('seed-payment-timeout', 'error', 'open', 'payment: com.acme.payment.DbTimeoutException', 'payment',
     'db.query charge', 'com.acme.payment.DbTimeoutException', now() - interval '8 minutes', now(), 42,
     ARRAY['gateway', 'checkout', 'payment', 'inventory'], ARRAY['gateway GET /checkout'], 'ready',
     'cafe0000000000000000000000000001');

-- ---------------------------------------------------------------- lifecycle (issue 15, migration 009)
-- The payment anomaly is grouped under the payment incident (same root service); the payment incident's
-- timeline: opened, paged at its third trace, joined by the anomaly.
UPDATE incidents c SET parent_id = p.id,
       group_reason = 'root service payment matches incident #' || p.id || ' opened 2 min later'
  FROM incidents p WHERE c.fingerprint = 'seed-payment-anomaly' AND p.fingerprint = 'seed-payment-timeout';
UPDATE incidents SET paged_at = now() - interval '7 minutes 50 seconds' WHERE fingerprint = 'seed-payment-timeout';
INSERT INTO incident_events (incident_id, kind, at, detail)
SELECT p.id, v.kind, now() - v.ago, v.detail
  FROM incidents p, incidents c,
       LATERAL (VALUES ('opened', interval '8 minutes', 'first trace cafe0000000000000000000000000001'),
                       ('paged', interval '7 minutes 50 seconds', '3 traces reached ALERT_MIN_TRACES (3)'),
                       ('grouped', interval '7 minutes', 'incident #' || c.id || ' (' || c.title
                                                         || ') grouped under this one: ' || c.group_reason)
               ) v(kind, ago, detail)
 WHERE p.fingerprint = 'seed-payment-timeout' AND c.fingerprint = 'seed-payment-anomaly';
INSERT INTO incident_events (incident_id, kind, at, detail)
SELECT c.id, 'grouped', now() - interval '7 minutes', 'grouped because ' || c.group_reason
  FROM incidents c WHERE c.fingerprint = 'seed-payment-anomaly';

-- ---------------------------------------------------------------- resources (OTLP: stored once)
-- payment's resource, referred to by hash from the root-cause span and a log of the big trace.
INSERT INTO resources (resource_hash, service, attributes, schema_url) VALUES
    ('0b5e55ed-0000-4000-8000-00000000a001', 'payment',
     '{"service.name": "payment", "service.version": "2.3.1", "host.name": "pay-7f9c", "host.arch": "amd64",
       "process.pid": 4242, "process.runtime.name": "OpenJDK", "telemetry.sdk.language": "java",
       "telemetry.sdk.name": "opentelemetry", "k8s.pod.name": "payment-7f9c-2"}',
     'https://opentelemetry.io/schemas/1.26.0');

-- ---------------------------------------------------------------- the 5,000-span trace
-- Span g's parent is g / 2 (a binary tree 13 levels deep). The root cause is g = 4321
-- (00000000000010e1); its ancestors 2160, 1080, ..., 2, 1 are the propagation path. A distracting
-- earlier failure sits at g = 64 (before the root cause in tree order). Children start after and end
-- before their parent. The root cause carries what OTLP sends: a resource (by hash), a scope, trace
-- state, links (one to the stored trace ...03, one to a trace that is not stored) and dropped counts.
WITH p AS (SELECT 4321 >> k AS g FROM generate_series(0, 12) k),
s AS (
    SELECT g, lpad(to_hex(g), 16, '0') AS id, g IN (SELECT g FROM p) AS on_path,
           :now_ns::bigint - 60000000000::bigint AS base
    FROM generate_series(1, 5000) g
)
INSERT INTO spans (trace_id, span_id, parent_span_id, service, name, kind, start_ns, end_ns, status,
                   status_message, attributes, events, resource_hash, scope_name, scope_version, trace_state,
                   flags, links, dropped_attributes_count, dropped_events_count, dropped_links_count)
SELECT 'cafe0000000000000000000000000001', id, CASE WHEN g = 1 THEN NULL ELSE lpad(to_hex(g / 2), 16, '0') END,
       CASE WHEN g = 1 THEN 'gateway' WHEN g < 4 THEN 'checkout' WHEN on_path OR g % 3 = 0 THEN 'payment'
            ELSE 'inventory' END,
       CASE WHEN g = 1 THEN 'GET /checkout' WHEN g = 2 THEN 'POST /orders' WHEN g = 4321 THEN 'db.query charge'
            WHEN on_path THEN 'charge step ' || g WHEN g % 3 = 0 THEN 'payment op ' || g ELSE 'stock lookup ' || g END,
       CASE WHEN g = 1 OR g = 2 THEN 'SERVER' WHEN g = 4321 THEN 'CLIENT' ELSE 'INTERNAL' END,
       base + g * 2000, base + 12000000 - g * 200 + CASE WHEN g = 4321 THEN 0 ELSE 0 END,
       CASE WHEN on_path OR g = 64 THEN 2 ELSE 1 END,
       CASE WHEN g = 4321 THEN 'deadline exceeded after 2000 ms' WHEN g = 64 THEN 'cache miss (ignored)'
            WHEN on_path THEN 'upstream failed' END,
       CASE WHEN g = 4321 THEN '{"db.system": "postgresql", "db.statement": "INSERT INTO charges ...", "pool.size": 5}'::jsonb
            ELSE jsonb_build_object('step', g) END,
       CASE WHEN g = 4321 THEN '[{"name": "exception", "attributes": {"exception.type": "com.acme.payment.DbTimeoutException",
            "exception.message": "timeout acquiring connection"}}]'::jsonb ELSE '[]'::jsonb END,
       CASE WHEN g = 4321 THEN '0b5e55ed-0000-4000-8000-00000000a001'::uuid END,
       CASE WHEN g = 4321 THEN 'io.acme.payment.jdbc' END, CASE WHEN g = 4321 THEN '4.0.3' END,
       CASE WHEN g = 4321 THEN 'acme=00f067aa0ba902b7' END, CASE WHEN g = 4321 THEN 1 END,
       CASE WHEN g = 4321 THEN '[{"trace_id": "cafe0000000000000000000000000003", "span_id": "0000000000000002",
            "attributes": {"link.reason": "retry of order 8812"}},
            {"trace_id": "beef0000000000000000000000000009", "span_id": "00000000000000aa", "attributes": {}}]'::jsonb
            ELSE '[]'::jsonb END,
       0, CASE WHEN g = 4321 THEN 3 ELSE 0 END, 0
FROM s;

-- Logs of the trace: an info line for every 20th span, and the interesting ones.
INSERT INTO logs (ts_ns, service, level, severity, message, trace_id, span_id, stack_trace, attributes, content_hash)
SELECT :now_ns::bigint - 60000000000::bigint + g * 2000 + 100, CASE WHEN g % 3 = 0 THEN 'payment' ELSE 'inventory' END,
       'INFO', 3, 'handled step ' || g, 'cafe0000000000000000000000000001', lpad(to_hex(g), 16, '0'), NULL, '{}',
       md5('l' || g)::uuid
FROM generate_series(20, 5000, 20) g;

INSERT INTO logs (ts_ns, service, level, severity, message, trace_id, span_id, stack_trace, attributes, content_hash)
VALUES
    (:now_ns::bigint - 60000000000::bigint + 4321 * 2000 + 500, 'payment', 'ERROR', 5,
     '<script>alert(1)</script> charge failed: timeout acquiring connection', 'cafe0000000000000000000000000001',
     '00000000000010e1',
     E'com.acme.payment.DbTimeoutException: timeout acquiring connection\n\tat com.acme.payment.ChargeRepository.save(ChargeRepository.java:88)\n\tat com.acme.payment.ChargeService.charge(ChargeService.java:41)\n\tat com.acme.payment.api.ChargeController.post(ChargeController.java:27)\nCaused by: java.sql.SQLTransientConnectionException: pool exhausted (5/5 in use)\n\tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:181)',
     '{"thread": "http-nio-8080-exec-7"}', md5('x1')::uuid),
    (:now_ns::bigint - 60000000000::bigint + 4321 * 2000 + 400, 'payment', 'WARN', 4,
     'connection pool exhausted: 5 of 5 in use, 12 waiting', 'cafe0000000000000000000000000001', '00000000000010e1',
     NULL, '{}', md5('x2')::uuid),
    (:now_ns::bigint - 60000000000::bigint + 2160 * 2000 + 900, 'payment', 'WARN', 4,
     'retrying charge (attempt 2/3)', 'cafe0000000000000000000000000001', '0000000000000870', NULL, '{}',
     md5('x3')::uuid),
    (:now_ns::bigint - 60000000000::bigint + 64 * 2000 + 900, 'inventory', 'INFO', 3,
     '<img src=x onerror=alert(2)> cache miss for sku 991', 'cafe0000000000000000000000000001', '0000000000000040',
     NULL, '{}', md5('x4')::uuid),
    (:now_ns::bigint - 60000000000::bigint + 11000000, 'gateway', 'ERROR', 5,
     'GET /checkout -> 500 (upstream checkout failed)', 'cafe0000000000000000000000000001', '0000000000000001',
     E'Error: upstream 500\n    at proxy (/srv/gateway/proxy.js:118:11)\n    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
     '{}', md5('x5')::uuid);

-- An OTLP log with a structured body (a map) and its severity number, last in the trace.
INSERT INTO logs (ts_ns, service, level, severity, message, trace_id, span_id, stack_trace, attributes, content_hash,
                  resource_hash, scope_name, severity_number, observed_ns, body, event_name)
VALUES (:now_ns::bigint - 60000000000::bigint + 11500000, 'payment', 'ERROR', 5,
        '{"amount":{"currency":"EUR","value":42.5},"order_id":"o-8812"}', 'cafe0000000000000000000000000001',
        '00000000000010e1', NULL, '{}', md5('x6')::uuid, '0b5e55ed-0000-4000-8000-00000000a001',
        'io.acme.payment', 17, :now_ns::bigint - 60000000000::bigint + 11600000,
        '{"amount": {"currency": "EUR", "value": 42.5}, "order_id": "o-8812"}', 'payment.rejected');

-- ---------------------------------------------------------------- small traces of the other incidents
INSERT INTO spans (trace_id, span_id, parent_span_id, service, name, kind, start_ns, end_ns, status, status_message)
SELECT 'cafe0000000000000000000000000002', lpad(to_hex(n), 16, '0'), CASE WHEN n = 1 THEN NULL ELSE lpad(to_hex(n - 1), 16, '0') END,
       (ARRAY['gateway', 'checkout', 'inventory', 'inventory'])[n], (ARRAY['GET /checkout', 'POST /orders', 'GET /stock', 'SELECT stock'])[n],
       CASE WHEN n = 4 THEN 'CLIENT' ELSE 'SERVER' END,
       :now_ns::bigint - 70000000000::bigint + n * 1000000, :now_ns::bigint - 70000000000::bigint + 2400000000 - n * 1000000, 1, NULL
FROM generate_series(1, 4) n;
INSERT INTO spans (trace_id, span_id, parent_span_id, service, name, kind, start_ns, end_ns, status, status_message)
SELECT 'cafe0000000000000000000000000003', lpad(to_hex(n), 16, '0'), CASE WHEN n = 1 THEN NULL ELSE lpad(to_hex(n - 1), 16, '0') END,
       (ARRAY['gateway', 'checkout'])[n], (ARRAY['GET /checkout', 'POST /orders'])[n], 'SERVER',
       :now_ns::bigint - 7200000000000::bigint + n * 1000000, :now_ns::bigint - 7200000000000::bigint + 90000000 - n * 1000000, 2,
       CASE WHEN n = 2 THEN 'NullPointerException' END
FROM generate_series(1, 2) n;
INSERT INTO logs (ts_ns, service, level, severity, message, trace_id, span_id, stack_trace, attributes, content_hash)
VALUES (:now_ns::bigint - 69000000000::bigint, 'inventory', 'WARN', 4, 'slow query: SELECT stock took 2380 ms',
        'cafe0000000000000000000000000002', '0000000000000004', NULL, '{}', md5('y1')::uuid);

INSERT INTO incident_traces (incident_id, trace_id, added_at)
SELECT id, t, now() - o * interval '1 minute'
FROM incidents, (VALUES ('cafe0000000000000000000000000001', 0), (md5('bg1'), 1), (md5('bg2'), 2)) v(t, o)
WHERE fingerprint = 'seed-payment-timeout';
INSERT INTO incident_traces (incident_id, trace_id)
SELECT id, sample_trace_id FROM incidents WHERE fingerprint IN ('seed-inventory-slow', 'seed-checkout-npe');

-- ---------------------------------------------------------------- analyses
-- payment: version 1 deterministic, version 2 by the LLM (the latest).
INSERT INTO analyses (incident_id, trace_id, version, fingerprint, root_service, root_span_id, root_operation,
                      exception_type, evidence, report, generated_by, llm_model, llm_error, prompt_tokens,
                      completion_tokens, llm_latency_ms, created_at)
SELECT i.id, 'cafe0000000000000000000000000001', v.version, i.fingerprint, 'payment', '00000000000010e1',
       'db.query charge', 'com.acme.payment.DbTimeoutException', e.evidence,
       jsonb_build_object(
         'summary', CASE WHEN v.version = 2
             THEN 'payment could not get a database connection in db.query charge (pool exhausted after deploy v2.3.1 shrank it to 5); the timeout propagated payment -> checkout -> gateway and checkout failed for users.'
             ELSE 'payment failed in db.query charge with com.acme.payment.DbTimeoutException: timeout acquiring connection. The failure propagated payment -> checkout -> gateway.' END,
         'root_cause', jsonb_build_object('service', 'payment', 'span_id', '00000000000010e1',
                                          'operation', 'db.query charge', 'exception', 'com.acme.payment.DbTimeoutException'),
         'impact', 'Checkout failed for about 30% of requests in the last 10 minutes (42 traces).',
         'evidence', jsonb_build_array('span:00000000000010e1', 'log:' || e.root_log, 'log:' || e.pool_log, 'span:0000000000000870'),
         'remediation', jsonb_build_array('Roll back payment v2.3.1 or restore the connection pool size to 20.',
                                          'Alert on pool saturation (waiting > 0 for 1 minute).'),
         'confidence', CASE WHEN v.version = 2 THEN 0.86 ELSE 0.9 END, 'verdict', 'conclusive',
         'generated_by', v.generated_by),
       v.generated_by, CASE WHEN v.version = 2 THEN 'gpt-4o-mini' END, NULL,
       CASE WHEN v.version = 2 THEN 3120 END, CASE WHEN v.version = 2 THEN 284 END,
       CASE WHEN v.version = 2 THEN 2140 END, now() - (3 - v.version) * interval '2 minutes'
FROM incidents i
CROSS JOIN (VALUES (1, 'deterministic'), (2, 'llm')) v(version, generated_by)
CROSS JOIN LATERAL (
    SELECT 219 AS root_log, 218 AS pool_log, jsonb_build_object(
      'trace_id', 'cafe0000000000000000000000000001', 'kind', 'error',
      'root_cause', jsonb_build_object('id', 'span:00000000000010e1', 'span_id', '00000000000010e1', 'service', 'payment',
          'operation', 'db.query charge', 'status', 'ERROR', 'status_message', 'deadline exceeded after 2000 ms',
          'reason', 'the deepest failing span whose failure reached the entry span', 'self_ms', 1.2, 'duration_ms', 2.5,
          'exception', jsonb_build_object('type', 'com.acme.payment.DbTimeoutException',
              'message', 'timeout acquiring connection', 'root_cause_type', 'java.sql.SQLTransientConnectionException',
              'root_cause_message', 'pool exhausted (5/5 in use)',
              'frame', jsonb_build_object('function', 'com.acme.payment.ChargeRepository.save',
                                          'file', 'ChargeRepository.java', 'line', 88), 'format', 'jvm')),
      'propagation_path', (SELECT jsonb_agg(jsonb_build_object('id', 'span:' || lpad(to_hex(4321 >> k), 16, '0'),
                               'span_id', lpad(to_hex(4321 >> k), 16, '0'),
                               'service', CASE WHEN k = 12 THEN 'gateway' WHEN k >= 11 THEN 'checkout' ELSE 'payment' END,
                               'operation', CASE WHEN k = 0 THEN 'db.query charge' WHEN k = 12 THEN 'GET /checkout'
                                                 WHEN k = 11 THEN 'POST /orders' ELSE 'charge step ' || (4321 >> k) END)
                               ORDER BY k) FROM generate_series(0, 12) k),
      'logs', jsonb_build_array(
          jsonb_build_object('id', 'log:219', 'ts_ns', :now_ns::bigint - 60000000000::bigint + 4321 * 2000 + 500,
              'service', 'payment', 'level', 'ERROR', 'span_id', '00000000000010e1',
              'message', '<script>alert(1)</script> charge failed: timeout acquiring connection'),
          jsonb_build_object('id', 'log:218', 'ts_ns', :now_ns::bigint - 60000000000::bigint + 4321 * 2000 + 400,
              'service', 'payment', 'level', 'WARN', 'span_id', '00000000000010e1',
              'message', 'connection pool exhausted: 5 of 5 in use, 12 waiting')),
      -- suspects as the trace analysis writes them (score, delta_ms); the anomaly detector's have
      -- confidence and evidence, older analyses proximity and seconds_before: the page reads all
      'suspects', jsonb_build_array(
          jsonb_build_object('type', 'deploy', 'service', 'payment', 'description', 'payment v2.3.1 (build 8812): connection pool 20 -> 5',
              'ts_ns', :now_ns::bigint - 540 * 1000000000::bigint, 'delta_ms', 60000, 'score', 0.82),
          jsonb_build_object('type', 'flag', 'service', 'checkout', 'description', 'new-cart-ui enabled for 10%',
              'ts_ns', :now_ns::bigint - 1800 * 1000000000::bigint, 'seconds_before', 1320, 'proximity', 0.0,
              'confidence', 0.05, 'evidence', 'a caller of the failing service, 22 minutes before')),
      'anomalies', jsonb_build_array(jsonb_build_object('metric', 'error_rate', 'labels', '{}'::jsonb,
          'before_mean', 0.004, 'during_mean', 0.31, 'change_pct', 7650, 'direction', 'up', 'points_before', 40,
          'points_during', 8)),
      'counts', jsonb_build_object('spans', 5000, 'logs', 255, 'error_spans', 14)) AS evidence) e
WHERE i.fingerprint = 'seed-payment-timeout';

-- inventory: the LLM failed, the deterministic report (inconclusive: nothing failed, a span was slow).
INSERT INTO analyses (incident_id, trace_id, version, root_service, root_span_id, root_operation, evidence, report,
                      generated_by, llm_model, llm_error, llm_latency_ms)
SELECT id, 'cafe0000000000000000000000000002', 1, 'inventory', '0000000000000004', 'SELECT stock',
       '{"kind": "slow", "root_cause": {"span_id": "0000000000000004", "service": "inventory", "operation": "SELECT stock", "usual_ms": 6},
         "propagation_path": [{"span_id": "0000000000000004", "service": "inventory"}, {"span_id": "0000000000000003", "service": "inventory"},
                              {"span_id": "0000000000000002", "service": "checkout"}, {"span_id": "0000000000000001", "service": "gateway"}],
         "logs": [{"id": "log:0", "service": "inventory", "level": "WARN", "message": "slow query: SELECT stock took 2380 ms"}],
         "suspects": []}',
       '{"summary": "No span failed; the slowest step on the critical path is SELECT stock in inventory (2376.0 ms self time).",
         "root_cause": {"service": "inventory", "span_id": "0000000000000004", "operation": "SELECT stock", "exception": null},
         "impact": "Checkout took 2.4 s instead of about 80 ms.", "evidence": ["span:0000000000000004", "log:0"],
         "remediation": ["Profile this operation and compare with its usual duration."], "confidence": 0.4,
         "verdict": "inconclusive", "generated_by": "deterministic"}',
       'deterministic', 'gpt-4o-mini', 'LLM request timed out after 20000 ms', 20003
FROM incidents WHERE fingerprint = 'seed-inventory-slow';

-- checkout (resolved): an LLM report.
INSERT INTO analyses (incident_id, trace_id, version, root_service, root_span_id, root_operation, exception_type, evidence,
                      report, generated_by, llm_model, prompt_tokens, completion_tokens, llm_latency_ms, created_at)
SELECT id, 'cafe0000000000000000000000000003', 1, 'checkout', '0000000000000002', 'POST /orders', 'java.lang.NullPointerException',
       '{"root_cause": {"span_id": "0000000000000002", "service": "checkout", "operation": "POST /orders"},
         "propagation_path": [{"span_id": "0000000000000002"}, {"span_id": "0000000000000001"}], "logs": [], "suspects": []}',
       '{"summary": "checkout threw NullPointerException in POST /orders when the cart had no shipping address.",
         "root_cause": {"service": "checkout", "span_id": "0000000000000002", "operation": "POST /orders",
                        "exception": "java.lang.NullPointerException"},
         "impact": "17 orders failed.", "evidence": ["span:0000000000000002"],
         "remediation": ["Validate the shipping address before pricing."], "confidence": 0.93,
         "verdict": "conclusive", "generated_by": "llm"}',
       'llm', 'gpt-4o-mini', 1200, 160, 1800, now() - interval '2 hours'
FROM incidents WHERE fingerprint = 'seed-checkout-npe';

-- ---------------------------------------------------------------- alerts (migration 010)
-- 60 older deliveries (a second page of the alerts page), then the payment incident's: to destinations
-- named by id (never a URL), in several states, one failed with an HTML-looking answer. Silences: one
-- active on inventory (its comment HTML-looking), one expired on payment's POST /charge.
INSERT INTO alert_deliveries (destination, format, dedup_key, kind, payload, state, attempts, incident_id,
                              severity, created_at, delivered_at)
SELECT 'json:hooks.example.com#1a2b', 'json', 'bulk:' || g, 'report', jsonb_build_object('kind', 'report'),
       'delivered', 1, NULL, 'error', now() - interval '1 day' - g * interval '1 minute',
       now() - interval '1 day' - g * interval '1 minute' + interval '1 second'
FROM generate_series(60, 1, -1) g;
INSERT INTO alert_deliveries (destination, format, dedup_key, kind, payload, state, attempts, last_error,
                              incident_id, severity, created_at, delivered_at, next_attempt_at)
SELECT v.dest, v.fmt, v.key, v.kind, jsonb_build_object('kind', v.kind, 'incident_id', i.id), v.state, v.attempts,
       v.err, i.id, v.sev, now() - v.age,
       CASE WHEN v.state = 'delivered' THEN now() - v.age + interval '1 second' END, now() + interval '5 minutes'
FROM incidents i, (VALUES
    ('pagerduty#51d0', 'pagerduty', 'incident:seed', 'incident', 'delivered', 1, NULL, 'critical', interval '8 minutes'),
    ('slack:hooks.slack.com#3f9a', 'slack', 'incident:seed', 'incident', 'delivered', 1, NULL, 'critical',
     interval '8 minutes'),
    ('slack:hooks.slack.com#3f9a', 'slack', 'report:seed', 'report', 'failed', 3, 'HTTP 404: <b>no_service</b>',
     'error', interval '7 minutes'),
    ('teams:example.webhook.office.com#08c1', 'teams', 'incident:seed', 'incident', 'pending', 2, 'HTTP 500',
     'critical', interval '6 minutes')
) v(dest, fmt, key, kind, state, attempts, err, sev, age)
WHERE i.fingerprint = 'seed-payment-timeout'
ORDER BY v.age DESC, v.dest;
INSERT INTO silences (service, endpoint, starts_at, ends_at, comment) VALUES
    ('payment', 'POST /charge', now() - interval '3 hours', now() - interval '2 hours', 'expired one'),
    ('inventory', NULL, now() - interval '1 hour', now() + interval '1 hour', 'planned <i>db</i> maintenance');

ANALYZE;
