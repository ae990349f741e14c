/* Read-only query routes that only the dashboard needs beyond the query API: per-service time series
 * for the services page's sparklines, the metric names a service reports (which charts to draw), and
 * change events (marked on the charts' time axes). READ key; PostgreSQL renders the JSON. */
#ifndef PS_QUERY_DASHBOARD_H
#define PS_QUERY_DASHBOARD_H

#include "httpd.h"
#include "query_api.h"

/* Registers GET /query/services/series, /query/metrics/names and /query/changes with the READ key.
 * `q` is borrowed and must outlive the server. Call before httpd_start(). */
void query_dashboard_register(httpd_t *h, query_api_t *q);

#endif
