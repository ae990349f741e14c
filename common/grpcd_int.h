/* Internals of the gRPC server shared by its three files: grpcd.c owns the thread, the sockets, the epoll
 * loop and the queue of finished calls; grpcd_h2.c owns what happens inside one HTTP/2 session
 * (request gathering, checks, dispatch, answers); grpcd_tls.c the bytes' transport (socket or TLS).
 * Everything here runs on the loop thread unless said.
 *
 *   grpcd_t --conns--> conn_t --streams--> stream_t --call--> grpcd_call_t
 *                                              ^------stream------'   (both cleared when either side ends)
 */
#ifndef PS_GRPCD_INT_H
#define PS_GRPCD_INT_H

#include "buf.h"
#include "grpc_frame.h"
#include "grpcd.h"
#include "peerlimit.h"

#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct grpcd_stream stream_t;
typedef struct grpcd_conn conn_t;

typedef struct {
    char *path;
    grpcd_handler_fn fn;
    void *ctx;
} grpcd_method_t;

typedef struct {
    _Atomic uint64_t calls[GRPC_CODE_COUNT];
    _Atomic uint64_t http_rejected, calls_abandoned, streams_reset;
    _Atomic uint64_t connections_accepted, connections_refused, connections_open;
} grpcd_counters_t;

struct grpcd {
    grpcd_options_t opt;
    grpcd_method_t *methods;
    size_t nmethods;
    int listen_fd, epoll_fd, event_fd, port;
    pthread_t thread;
    int started;
    atomic_int stopping;
    /* Finished calls waiting for the loop thread, and the count of calls handed to handlers and not
     * finished yet; both under `mu`, `cv` signalled when a call is finished. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    grpcd_call_t *done_head, *done_tail;
    size_t outstanding;
    peerlimit_t *peers; /* per-address connections and failed authentications; NULL: no limits */
    SSL_CTX *tls;       /* NULL: cleartext (h2c) */
    conn_t *conns;      /* loop thread only */
    size_t nconns;
    grpcd_counters_t count;
};

struct grpcd_conn {
    grpcd_t *srv;
    int fd;                       /* -1 for a socketless session (fuzzing): output is discarded */
    struct sockaddr_storage peer; /* the client's address (AF_UNSPEC when socketless) */
    int counted_peer;             /* counted in srv->peers */
    nghttp2_session *session;
    conn_t *prev, *next;
    stream_t *streams; /* open streams, to free them with the connection */
    size_t nstreams;
    size_t buffered; /* request bytes held by this connection's streams */
    size_t held;     /* calls of this connection held by handlers (not finished yet) */
    buf_t out;       /* frames gathered from the session, sent from out_off on */
    size_t out_off;
    int64_t last_active_ms;
    uint32_t events;   /* epoll interest currently registered */
    SSL *ssl;          /* NULL: cleartext */
    int handshaking;   /* TLS handshake not complete: nothing of HTTP/2 is read or sent yet */
    uint32_t tls_want; /* EPOLLIN or EPOLLOUT: what the last TLS operation waits for */
};

/* A call handed to a handler. `stream` belongs to the loop thread; the answer fields are written once
 * by grpcd_call_finish() (any thread) before the call is queued, and read by the loop thread after. */
struct grpcd_call {
    grpcd_t *srv;
    stream_t *stream; /* NULL once the stream or its connection is gone */
    int key_index;
    int status;
    char *message; /* percent-encoded grpc-message, or NULL */
    uint8_t *body; /* OK: the framed response (5-byte header + message) */
    size_t body_len;
    char *details; /* base64 of grpc-status-details-bin, or NULL */
    grpcd_call_t *next;
};

/* grpcd_h2.c: starts the server side of HTTP/2 on `c` (session, SETTINGS). Returns 0 or -1. */
int grpcd_conn_session_open(conn_t *c);
/* Frees the connection's streams (detaching their calls) and its session. */
void grpcd_conn_session_close(conn_t *c);
/* Submits the answer of a finished call when its stream still lives and frees the call. Returns the
 * connection that now has output to send, or NULL. */
conn_t *grpcd_call_deliver(grpcd_call_t *call);
/* grpcd.c: a connection on socket `fd` (registered with epoll), or -1 for a socketless session whose
 * output is discarded (fuzzing). Returns NULL when the session cannot start (the caller closes fd). */
conn_t *grpcd_conn_new(grpcd_t *s, int fd);
/* Frees the connection, its streams and its session; closes its socket. */
void grpcd_conn_close(conn_t *c);
/* grpcd.c: the grpc-message value of a plain text: percent-encoded, cut past a few KiB; NULL for NULL or
 * "". Caller frees. */
char *grpcd_message_encode(const char *message);
/* grpcd.c: takes every finished call off the queue and delivers it, flushing the connections. */
void grpcd_drain_finished(grpcd_t *s);
/* Sends what the session has queued; returns 0, or -1 when the connection should close. */
int grpcd_conn_flush(conn_t *c);

/* grpcd_tls.c: the connection's transport. grpcd_tls_create() makes s->tls from the edge's files (NULL
 * when none; -1 with `err` naming the variable at fault). grpcd_tls_conn_start() puts a new socket
 * connection under TLS when the server has it (0, or -1: close it); grpcd_tls_handshake() drives the
 * handshake: 1 done, 0 waiting for the socket (c->tls_want), -1 failed (close it).
 * grpcd_conn_recv()/grpcd_conn_send() behave as recv()/send() (errno EAGAIN: wait for the socket) over
 * the plain socket or TLS; grpcd_tls_conn_free() releases the TLS state (nothing without it). */
int grpcd_tls_create(grpcd_t *s, const listen_edge_t *edge, char *err, size_t errlen);
int grpcd_tls_conn_start(conn_t *c);
int grpcd_tls_handshake(conn_t *c);
void grpcd_tls_conn_free(conn_t *c);
ssize_t grpcd_conn_recv(conn_t *c, void *buf, size_t len);
ssize_t grpcd_conn_send(conn_t *c, const void *p, size_t len);

#endif
