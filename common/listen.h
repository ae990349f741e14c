/* Listening sockets: a bind address given as an IPv4 or IPv6 literal (BIND_ADDR) and a port, opened
 * with SO_REUSEPORT so that each event-loop thread can own its own socket on the same port. Used by the
 * HTTP server (httpd.c) and by any other listener (gRPC) so that every listener binds alike. */
#ifndef PS_LISTEN_H
#define PS_LISTEN_H

#include <stddef.h>

/* Where a server listens when BIND_ADDR is not set: loopback only, so that nothing is exposed by
 * accident. Containers set BIND_ADDR=0.0.0.0. */
#define LISTEN_DEFAULT_ADDR "127.0.0.1"

/* What every listener of a program enforces at its edge, from the configuration (config.h): per
 * client address, at most max_connections_per_addr open connections and auth_failures_per_min failed
 * authentications per minute (0: unlimited; see peerlimit.h); TLS with this certificate chain and
 * private key (PEM files; both NULL: cleartext; tlsctx.h loads them for every listener). */
typedef struct {
    int max_connections_per_addr;
    int auth_failures_per_min;
    char *tls_cert_file;
    char *tls_key_file;
} listen_edge_t;

/* Returns 0 when `addr` is an IPv4 literal ("127.0.0.1", "0.0.0.0") or an IPv6 literal ("::1", "::"),
 * else -1. No name resolution: a host name is refused. */
int listen_addr_check(const char *addr);
/* Returns 0 when no other socket listens on `addr` (NULL: LISTEN_DEFAULT_ADDR) and `port`, else -1 with
 * the reason in `err`. Call once per port before listen_open(): SO_REUSEPORT would otherwise let a
 * second process of the same user share the port silently instead of failing. */
int listen_check_free(const char *addr, int port, char *err, size_t errlen);
/* Opens a TCP socket bound to `addr` (NULL: LISTEN_DEFAULT_ADDR) and `port`, with SO_REUSEADDR and
 * SO_REUSEPORT, and listening. Returns the socket (the caller closes it), or -1 with the reason in
 * `err` (naming the address and port). Any thread. */
int listen_open(const char *addr, int port, char *err, size_t errlen);

#endif
