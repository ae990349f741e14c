/* Self-signed certificates for TLS tests (see ts_tls.h). */
#include "ts_tls.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

void ts_tls_make(ts_tls_t *t, const char *tag)
{
    snprintf(t->dir, sizeof(t->dir), "/tmp/ps-%s-tls.XXXXXX", tag);
    ck_assert_ptr_nonnull(mkdtemp(t->dir));
    snprintf(t->cert, sizeof(t->cert), "%s/cert.pem", t->dir);
    snprintf(t->key, sizeof(t->key), "%s/key.pem", t->dir);
    snprintf(t->cert_env, sizeof(t->cert_env), "TLS_CERT_FILE=%s", t->cert);
    snprintf(t->key_env, sizeof(t->key_env), "TLS_KEY_FILE=%s", t->key);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s -out %s -days 1 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
             t->key, t->cert);
    ck_assert_int_eq(system(cmd), 0);
}

void ts_tls_remove(ts_tls_t *t)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", t->dir);
}
