/* Server TLS contexts from the configured PEM files (see tlsctx.h). */
#include "tlsctx.h"

#include <openssl/err.h>
#include <stdio.h>

/* Loads one PEM file into `ctx`; returns 0, or -1 with `err` naming `var` and OpenSSL's reason. */
static int load(SSL_CTX *ctx, const char *var, const char *path, int is_key, char *err, size_t errlen)
{
    int ok = is_key ? SSL_CTX_use_PrivateKey_file(ctx, path, SSL_FILETYPE_PEM)
                    : SSL_CTX_use_certificate_chain_file(ctx, path);
    if (ok == 1) return 0;
    char why[160];
    ERR_error_string_n(ERR_get_error(), why, sizeof(why));
    ERR_clear_error();
    snprintf(err, errlen, "%s: cannot load \"%s\" as a PEM %s: %s", var, path,
             is_key ? "private key" : "certificate chain", why);
    return -1;
}

int tlsctx_create(const listen_edge_t *e, SSL_CTX **out, char *err, size_t errlen)
{
    *out = NULL;
    if (e == NULL || e->tls_cert_file == NULL || e->tls_key_file == NULL) return 0;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        snprintf(err, errlen, "TLS_CERT_FILE: cannot create a TLS context");
        return -1;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    if (load(ctx, "TLS_CERT_FILE", e->tls_cert_file, 0, err, errlen) != 0 ||
        load(ctx, "TLS_KEY_FILE", e->tls_key_file, 1, err, errlen) != 0)
        goto fail;
    if (SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        snprintf(err, errlen, "TLS_KEY_FILE: \"%s\" is not the key of TLS_CERT_FILE's certificate",
                 e->tls_key_file);
        goto fail;
    }
    *out = ctx;
    return 0;
fail:
    SSL_CTX_free(ctx);
    return -1;
}
