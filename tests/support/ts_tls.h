/* Self-signed certificates for TLS tests: a temporary directory holding a certificate for IP 127.0.0.1
 * and its key, made with the openssl command. A program started by ts_start() with TLS_CERT_FILE set to
 * `cert` is awaited over HTTPS (ts.h). */
#ifndef PS_TS_TLS_H
#define PS_TS_TLS_H

typedef struct {
    char dir[64];
    char cert[128];                   /* PEM certificate: the one to serve, and the only one to trust */
    char key[128];                    /* its PEM private key */
    char cert_env[160], key_env[160]; /* "TLS_CERT_FILE=<cert>", "TLS_KEY_FILE=<key>": a server's settings */
} ts_tls_t;

/* Makes /tmp/ps-<tag>-tls.XXXXXX with cert.pem and key.pem; fails the test otherwise. */
void ts_tls_make(ts_tls_t *t, const char *tag);
/* Removes the directory and what it holds. */
void ts_tls_remove(ts_tls_t *t);

#endif
