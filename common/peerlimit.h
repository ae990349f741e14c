/* Per-address limits at a server's edge, shared by every loop thread of one server (httpd, grpcd):
 * open connections per client address (MAX_CONNECTIONS_PER_ADDR) and failed authentications per
 * address per minute (AUTH_FAILURES_PER_MIN). An address is an IPv4 address, or an IPv6 /64 (one
 * host usually owns a whole /64); an IPv4-mapped IPv6 address counts as its IPv4 address.
 *
 * The table is bounded (PEERLIMIT_MAX_ADDRS): an address holding no connection and no failure in the
 * current minute takes no entry; when the table is full, failure counts of the addresses that hold no
 * connection are dropped oldest first. Thread-safe (one mutex); calls are short. */
#ifndef PS_PEERLIMIT_H
#define PS_PEERLIMIT_H

#include <sys/socket.h>

#define PEERLIMIT_MAX_ADDRS 65536
#define PEERLIMIT_WINDOW_MS 60000 /* failures are counted per address over windows of one minute */

typedef struct peerlimit peerlimit_t;

/* Creates the limits; 0 means unlimited for either. Free with peerlimit_free(). */
peerlimit_t *peerlimit_create(int max_connections_per_addr, int auth_failures_per_min);
void peerlimit_free(peerlimit_t *p);

/* Counts a new connection from `peer`. Returns 0 (counted: call peerlimit_conn_close() when it closes),
 * or -1 when the address already holds max_connections_per_addr connections (not counted: close it).
 * An address that is neither IPv4 nor IPv6 (e.g. a Unix socket) is not limited and returns 0. */
int peerlimit_conn_open(peerlimit_t *p, const struct sockaddr *peer);
/* Uncounts a connection counted by peerlimit_conn_open(). */
void peerlimit_conn_close(peerlimit_t *p, const struct sockaddr *peer);

/* 0 when `peer` may try to authenticate at now_ms (monotonic), else the seconds (>= 1) until it may
 * again: it failed auth_failures_per_min times in the current window. */
int peerlimit_auth_blocked(peerlimit_t *p, const struct sockaddr *peer, long long now_ms);
/* Counts one failed authentication (no key, or a key not valid) from `peer` at now_ms. */
void peerlimit_auth_failed(peerlimit_t *p, const struct sockaddr *peer, long long now_ms);

/* Monotonic milliseconds, the clock the calls above expect. */
long long peerlimit_now_ms(void);

#endif
