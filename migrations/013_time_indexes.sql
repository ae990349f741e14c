-- Time indexes of the raw tables: the window readers (window ranking, pipeline/window_load.c; the
-- degradation runner; the dashboard's overview) select spans, logs and metric points by time alone
-- ("start_ns >= $1 AND start_ns < $2"). The indexes of 001 are led by the service (or the series) and
-- the 006 index on metric points holds only those that are not gauges, so such a read scanned every
-- row of the partitions it touched: a 3-minute window of a day partition read the whole day.
--
-- B-trees, not BRIN: a window is usually the last minutes, which BRIN would leave unsummarized (read
-- whole) until autovacuum gets to them. Times arrive nearly in order, so inserts land at the right
-- edge of each index (PostgreSQL's fast path for rising keys). Not unique, so the rule of 012 (a
-- unique key holds the distribution column) does not apply; created on the parents, they reach every
-- existing and future partition.
CREATE INDEX spans_start_time ON spans (start_ns);
CREATE INDEX logs_time ON logs (ts_ns);
CREATE INDEX metric_points_time ON metric_points (ts_ns);
