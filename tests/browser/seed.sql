-- Data for the dashboard test: 10,000 incidents, one of them with a full report whose trace has
-- 5,000 spans (the root cause deep inside), logs with a stack trace and an HTML-looking line.
SELECT ensure_raw_partitions((now() AT TIME ZONE 'UTC')::date);

INSERT INTO incidents (fingerprint, title, root_service, root_operation, first_seen, last_seen, trace_count,
                       services, report_state)
SELECT 'bulk' || g, 'bulk incident ' || g, 'inventory', 'SELECT stock', now() - interval '2 days' + g * interval '1 second',
       now() - interval '1 day' + g * interval '1 second', 1, ARRAY['inventory'], 'ready'
FROM generate_series(1, 9999) g;

INSERT INTO incidents (fingerprint, title, root_service, root_operation, exception_type, first_seen, last_seen,
                       trace_count, services, report_state, sample_trace_id)
VALUES ('seeded', 'payment: com.acme.payment.DbTimeoutException', 'payment', 'db.query charge',
        'com.acme.payment.DbTimeoutException', now() - interval '5 minutes', now(), 42,
        ARRAY['gateway', 'payment'], 'ready', 'cafe0000000000000000000000000001');

INSERT INTO spans (trace_id, span_id, parent_span_id, service, name, kind, start_ns, end_ns, status)
SELECT 'cafe0000000000000000000000000001', lpad(to_hex(g), 16, '0'),
       CASE WHEN g = 1 THEN NULL ELSE lpad(to_hex(g / 2), 16, '0') END,
       CASE WHEN g % 3 = 0 THEN 'payment' ELSE 'gateway' END, 'op ' || g, 'INTERNAL',
       (extract(epoch FROM now()) * 1e9)::bigint - 1000000000 + g * 1000,
       (extract(epoch FROM now()) * 1e9)::bigint - 1000000000 + g * 1000 + 500000,
       CASE WHEN g = 4321 THEN 2 ELSE 1 END
FROM generate_series(1, 5000) g;

INSERT INTO logs (ts_ns, service, level, severity, message, trace_id, span_id, stack_trace, content_hash)
VALUES ((extract(epoch FROM now()) * 1e9)::bigint, 'payment', 'ERROR', 5, '<script>alert(1)</script> charge failed',
        'cafe0000000000000000000000000001', '00000000000010e1',
        E'com.acme.payment.DbTimeoutException: timeout\n\tat com.acme.payment.ChargeRepository.save(ChargeRepository.java:88)',
        md5('a')::uuid),
       ((extract(epoch FROM now()) * 1e9)::bigint + 1, 'gateway', 'INFO', 3, 'request handled',
        'cafe0000000000000000000000000001', '0000000000000001', NULL, md5('b')::uuid);

INSERT INTO analyses (incident_id, trace_id, version, evidence, report, generated_by)
SELECT id, 'cafe0000000000000000000000000001', 1,
  '{"root_cause":{"id":"span:00000000000010e1","span_id":"00000000000010e1","service":"payment","operation":"op 4321"},
    "propagation_path":[{"span_id":"00000000000010e1"},{"span_id":"0000000000000870"},{"span_id":"0000000000000001"}],
    "logs":[{"id":"log:0","message":"<script>alert(1)</script> charge failed"}],
    "suspects":[{"type":"deploy","service":"payment","description":"v2.3.1","ts_ns":1,"confidence":0.8}]}',
  '{"summary":"payment failed in op 4321 with DbTimeoutException.","root_cause":{"service":"payment",
    "span_id":"00000000000010e1","operation":"op 4321","exception":"com.acme.payment.DbTimeoutException"},
    "impact":"checkout failed","evidence":["span:00000000000010e1","log:0"],"remediation":["Check the database."],
    "confidence":0.9,"verdict":"conclusive","generated_by":"deterministic"}', 'deterministic'
FROM incidents WHERE fingerprint = 'seeded';
