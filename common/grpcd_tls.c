/* The byte transport of the gRPC server's connections: the plain socket, or TLS over it when the edge
 * names a certificate (OpenSSL on the non-blocking socket, ALPN "h2", the handshake driven by the epoll
 * loop like any other I/O). Loop thread only, like the rest of grpcd. */
#include "grpcd_int.h"

#include "tlsctx.h"

#include <errno.h>
#include <openssl/err.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

static const unsigned char alpn_h2[] = {2, 'h', '2'};

/* ALPN: gRPC is HTTP/2 only; a client offering no "h2" gets a fatal alert. A client sending no ALPN
 * at all is served HTTP/2 with prior knowledge (this callback is not called). */
static int select_h2(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                     unsigned int inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    unsigned char *chosen;
    if (SSL_select_next_proto(&chosen, outlen, alpn_h2, sizeof(alpn_h2), in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

int grpcd_tls_create(grpcd_t *s, const listen_edge_t *edge, char *err, size_t errlen)
{
    if (tlsctx_create(edge, &s->tls, err, errlen) != 0) return -1;
    if (s->tls == NULL) return 0;
    SSL_CTX_set_alpn_select_cb(s->tls, select_h2, NULL);
    SSL_CTX_set_num_tickets(s->tls, 0); /* no resumption: nothing is written after the handshake */
    SSL_CTX_set_mode(s->tls, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    return 0;
}

int grpcd_tls_conn_start(conn_t *c)
{
    if (c->srv->tls == NULL) return 0;
    c->ssl = SSL_new(c->srv->tls);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
        ERR_clear_error();
        return -1;
    }
    SSL_set_accept_state(c->ssl);
    c->handshaking = 1;
    c->tls_want = EPOLLIN; /* the ClientHello comes first */
    return 0;
}

void grpcd_tls_conn_free(conn_t *c)
{
    if (c->ssl == NULL) return;
    SSL_free(c->ssl); /* no close_notify: the socket closes right after, and may already be gone */
    c->ssl = NULL;
}

/* Maps an OpenSSL I/O result to the socket convention: -1 with errno EAGAIN when the socket must be
 * ready first (c->tls_want says for what), else -1 with errno EPIPE (the connection is over). */
static ssize_t tls_fail(conn_t *c, int r)
{
    int e = SSL_get_error(c->ssl, r);
    ERR_clear_error();
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        c->tls_want = e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT;
        errno = EAGAIN;
        return -1;
    }
    errno = EPIPE;
    return -1;
}

int grpcd_tls_handshake(conn_t *c)
{
    int r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        c->handshaking = 0;
        return 1;
    }
    return tls_fail(c, r) < 0 && errno == EAGAIN ? 0 : -1;
}

ssize_t grpcd_conn_recv(conn_t *c, void *buf, size_t len)
{
    if (c->ssl == NULL) return recv(c->fd, buf, len, 0);
    size_t n = 0;
    int r = SSL_read_ex(c->ssl, buf, len, &n);
    if (r == 1) return (ssize_t)n;
    if (SSL_get_error(c->ssl, r) == SSL_ERROR_ZERO_RETURN) { /* close_notify: the end of the stream */
        ERR_clear_error();
        return 0;
    }
    return tls_fail(c, r);
}

ssize_t grpcd_conn_send(conn_t *c, const void *p, size_t len)
{
    if (c->ssl == NULL) return send(c->fd, p, len, MSG_NOSIGNAL);
    size_t n = 0;
    int r = SSL_write_ex(c->ssl, p, len, &n);
    return r == 1 ? (ssize_t)n : tls_fail(c, r);
}
