/* Listening sockets: a bind address given as an IPv4 or IPv6 literal (BIND_ADDR) and a port, one socket
 * per port and process, opened without SO_REUSEPORT so that a port somebody listens on already (another
 * instance of ours included) fails the start instead of being shared silently; event-loop threads serve
 * a port through duplicates of its one socket (httpd.c). Used by the HTTP server and by the gRPC server
 * (grpcd.c) so that every listener binds alike. */
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
/* Opens a blocking TCP socket bound to `addr` (NULL: LISTEN_DEFAULT_ADDR) and `port` (0: any free port;
 * getsockname() tells which), with SO_REUSEADDR (connections in TIME_WAIT do not stop a restart) but
 * not SO_REUSEPORT, and listening. Returns the socket (the caller closes it), or -1 with the reason in
 * `err`: "cannot listen on ADDR port N: Address already in use" when any socket listens there already,
 * whoever owns it. Any thread. */
int listen_open(const char *addr, int port, char *err, size_t errlen);

#endif
