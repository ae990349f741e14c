/* The one place that turns TLS_CERT_FILE and TLS_KEY_FILE (listen_edge_t) into an OpenSSL server
 * context, for every listener: the HTTP server (httpd.c, HTTP/1.1) and the gRPC server (grpcd_tls.c,
 * which adds ALPN "h2"). TLS 1.2 at least, no compression, no renegotiation. */
#ifndef PS_TLSCTX_H
#define PS_TLSCTX_H

#include "listen.h"

#include <openssl/ssl.h>
#include <stddef.h>

/* Sets *out to a new server context loaded with e's certificate chain and key, or to NULL when `e` is
 * NULL or names no files (cleartext). Returns 0, or -1 with `err` naming the variable at fault
 * (unreadable file, not PEM, a key that is not the certificate's). Caller frees with SSL_CTX_free(). */
int tlsctx_create(const listen_edge_t *e, SSL_CTX **out, char *err, size_t errlen);

#endif
