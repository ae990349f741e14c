/* Read-only query routes that only the dashboard needs beyond the query API: per-service and
 * per-endpoint time series for the services page's sparklines, the metric names a service reports
 * (which charts to draw), change events (marked on the charts' time axes), and the feedback already
 * given on an incident. READ key; PostgreSQL renders the JSON. */
#ifndef PS_QUERY_DASHBOARD_H
#define PS_QUERY_DASHBOARD_H

#include "httpd.h"
#include "query_api.h"

/* Registers GET /query/services/series, /query/metrics/names, /query/changes and
 * /query/incidents/{id}/feedback with the READ key.
 * `q` is borrowed and must outlive the server. Call before httpd_start(). */
void query_dashboard_register(httpd_t *h, query_api_t *q);

#endif
