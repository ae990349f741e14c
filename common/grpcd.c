/* The gRPC server's thread and sockets: listener, epoll loop, connection I/O, idle timeouts, and the
 * queue through which any thread finishes a call (see grpcd.h; HTTP/2 itself is in grpcd_h2.c). */
#include "grpcd_int.h"

#include "alloc.h"
#include "listen.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 64
#define TICK_MS 1000 /* idle connections are looked for this often */
#define READ_CHUNK 65536
#define READS_PER_EVENT 4     /* bounded so one busy connection cannot starve the others */
#define MAX_MESSAGE_TEXT 1024 /* grpc-message keeps about this much text (3x once percent-encoded) */
#define MAX_DETAILS_BYTES (64 * 1024)
#define OUT_BATCH (64 * 1024) /* bytes gathered from the session per write */
#define OUT_MAX (16u << 20)   /* sanity cap of one gathering: a batch plus one frame */

void grpcd_options_default(grpcd_options_t *o)
{
    memset(o, 0, sizeof(*o));
    o->bind = "127.0.0.1";
    o->max_message_bytes = 4u << 20;
    o->max_connections = 1024;
    o->max_concurrent_streams = 100;
    o->max_header_list_bytes = 16 * 1024;
    o->idle_timeout_ms = 120 * 1000;
    o->max_conn_buffered_bytes = 64u << 20;
    o->stream_window_bytes = 1u << 20;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void say(char *err, size_t errlen, const char *what)
{
    if (err && errlen) snprintf(err, errlen, "%s: %s", what, strerror(errno));
}

/* ---- creation ------------------------------------------------------------------------------------ */

/* The listening socket, bound like every other listener (listen.h), non-blocking for the accept loop;
 * s->port is the port bound (the one asked for, or the free one picked for port 0). */
static int open_listener(grpcd_t *s, const char *bind_addr, char *err, size_t errlen)
{
    s->listen_fd = listen_open(bind_addr, s->opt.port, err, errlen);
    if (s->listen_fd < 0) return -1;
    int flags = fcntl(s->listen_fd, F_GETFL);
    if (flags < 0 || fcntl(s->listen_fd, F_SETFL, flags | O_NONBLOCK) != 0)
        return say(err, errlen, "fcntl"), -1;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(s->listen_fd, (struct sockaddr *)&ss, &sl) != 0)
        return say(err, errlen, "getsockname"), -1;
    s->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                            : ((struct sockaddr_in6 *)&ss)->sin6_port);
    return 0;
}

grpcd_t *grpcd_create(const grpcd_options_t *o, char *err, size_t errlen)
{
    if (o->port < 0 || o->port > 65535 || o->max_message_bytes == 0 || o->max_message_bytes > UINT32_MAX ||
        o->max_connections == 0 || o->stream_window_bytes == 0 ||
        o->stream_window_bytes > NGHTTP2_MAX_WINDOW_SIZE) {
        snprintf(err, errlen, "grpcd: invalid options");
        return NULL;
    }
    grpcd_t *s = xcalloc(1, sizeof(*s));
    s->opt = *o;
    s->opt.bind = NULL; /* borrowed: only read here */
    if (o->edge)
        s->peers = peerlimit_create(o->edge->max_connections_per_addr, o->edge->auth_failures_per_min);
    s->listen_fd = s->epoll_fd = s->event_fd = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (grpcd_tls_create(s, o->edge, err, errlen) != 0) goto fail;
    if (open_listener(s, o->bind ? o->bind : "127.0.0.1", err, errlen) != 0) goto fail;
    s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    s->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->epoll_fd < 0 || s->event_fd < 0) {
        say(err, errlen, "epoll/eventfd");
        goto fail;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s->listen_fd};
    struct epoll_event wake = {.events = EPOLLIN, .data.ptr = &s->event_fd};
    if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->listen_fd, &ev) != 0 ||
        epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->event_fd, &wake) != 0) {
        say(err, errlen, "epoll_ctl");
        goto fail;
    }
    return s;
fail:
    grpcd_free(s);
    return NULL;
}

int grpcd_register(grpcd_t *s, const char *path, grpcd_handler_fn fn, void *ctx)
{
    if (s->started || path == NULL || path[0] != '/' || fn == NULL) return -1;
    for (size_t i = 0; i < s->nmethods; i++)
        if (strcmp(s->methods[i].path, path) == 0) return -1;
    s->methods = xrealloc(s->methods, (s->nmethods + 1) * sizeof(*s->methods));
    s->methods[s->nmethods++] = (grpcd_method_t){xstrdup(path), fn, ctx};
    return 0;
}

int grpcd_port(const grpcd_t *s)
{
    return s->port;
}

/* ---- connections --------------------------------------------------------------------------------- */

void grpcd_conn_close(conn_t *c)
{
    grpcd_t *s = c->srv;
    grpcd_conn_session_close(c);
    grpcd_tls_conn_free(c);
    if (c->fd >= 0) close(c->fd); /* also leaves the epoll set */
    if (c->counted_peer) peerlimit_conn_close(s->peers, (struct sockaddr *)&c->peer);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    s->nconns--;
    atomic_fetch_sub(&s->count.connections_open, 1);
    buf_dispose(&c->out);
    free(c);
}

/* Registers the epoll interest the session wants. Returns -1 when it wants nothing (it is over). */
static int out_pending(const conn_t *c)
{
    return c->out_off < c->out.len;
}

/* Registers the epoll interest the session wants. Returns -1 when it wants nothing (it is over) and
 * nothing is left to send. */
static int conn_update_events(conn_t *c)
{
    uint32_t want = 0;
    if (c->handshaking) {
        want = c->tls_want; /* HTTP/2 waits for the handshake */
    } else {
        if (nghttp2_session_want_read(c->session)) want |= EPOLLIN;
        if (nghttp2_session_want_write(c->session) || out_pending(c)) want |= EPOLLOUT;
        if (c->ssl && c->tls_want == EPOLLIN && out_pending(c)) want |= EPOLLIN; /* a write waits to read */
    }
    if (want == 0) return -1;
    if (c->fd < 0 || want == c->events) return 0;
    struct epoll_event ev = {.events = want, .data.ptr = c};
    if (epoll_ctl(c->srv->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev) != 0) return -1;
    c->events = want;
    return 0;
}

/* Gathers the session's frames into c->out (one write for many small frames, e.g. a response's
 * HEADERS, DATA and trailers), up to OUT_BATCH bytes. Returns 0 or -1. */
static int fill_out(conn_t *c)
{
    buf_reset(&c->out);
    c->out_off = 0;
    while (c->out.len < OUT_BATCH) {
        const uint8_t *p;
        ssize_t n = nghttp2_session_mem_send(c->session, &p);
        if (n < 0) return -1;
        if (n == 0) break;
        if (buf_append(&c->out, p, (size_t)n) != 0) return -1;
    }
    if (c->fd < 0) c->out_off = c->out.len; /* socketless: output discarded */
    return 0;
}

int grpcd_conn_flush(conn_t *c)
{
    if (c->handshaking) { /* our SETTINGS wait in the session until the handshake is done */
        int h = grpcd_tls_handshake(c);
        if (h < 0) return -1;
        if (h == 0) return conn_update_events(c);
    }
    for (;;) {
        if (!out_pending(c)) {
            if (fill_out(c) != 0) return -1;
            if (!out_pending(c)) break;
        }
        ssize_t n = grpcd_conn_send(c, c->out.data + c->out_off, c->out.len - c->out_off);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break; /* EPOLLOUT resumes */
            return -1;
        }
        c->out_off += (size_t)n;
        c->last_active_ms = now_ms();
    }
    return conn_update_events(c);
}

static void flush_or_close(conn_t *c)
{
    if (grpcd_conn_flush(c) != 0) grpcd_conn_close(c);
}

conn_t *grpcd_conn_new(grpcd_t *s, int fd)
{
    conn_t *c = xcalloc(1, sizeof(*c));
    c->srv = s;
    c->fd = fd;
    c->events = EPOLLIN;
    c->last_active_ms = now_ms();
    buf_init(&c->out, OUT_MAX);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (grpcd_conn_session_open(c) != 0 || (fd >= 0 && epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0)) {
        if (c->session) nghttp2_session_del(c->session);
        buf_dispose(&c->out);
        free(c);
        return NULL;
    }
    c->next = s->conns;
    if (s->conns) s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    atomic_fetch_add(&s->count.connections_open, 1);
    return c;
}

static void accept_all(grpcd_t *s)
{
    for (;;) {
        struct sockaddr_storage peer;
        socklen_t peer_len = sizeof(peer);
        int fd = accept4(s->listen_fd, (struct sockaddr *)&peer, &peer_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) log_warn("grpcd: accept: %s", strerror(errno));
            return;
        }
        if (s->nconns >= s->opt.max_connections ||
            peerlimit_conn_open(s->peers, (struct sockaddr *)&peer) != 0) {
            atomic_fetch_add(&s->count.connections_refused, 1);
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        conn_t *c = grpcd_conn_new(s, fd);
        if (c == NULL) {
            peerlimit_conn_close(s->peers, (struct sockaddr *)&peer);
            close(fd);
            continue;
        }
        c->peer = peer;
        c->counted_peer = 1;
        if (grpcd_tls_conn_start(c) != 0) {
            grpcd_conn_close(c);
            continue;
        }
        atomic_fetch_add(&s->count.connections_accepted, 1);
        flush_or_close(c); /* our SETTINGS */
    }
}

/* Reads what the socket has and feeds the session. Returns -1 when the connection is over. */
static int conn_read(conn_t *c)
{
    uint8_t buf[READ_CHUNK];
    for (int i = 0; i < READS_PER_EVENT || (c->ssl && SSL_pending(c->ssl) > 0); i++) {
        ssize_t n = grpcd_conn_recv(c, buf, sizeof(buf));
        if (n == 0) return -1;
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        c->last_active_ms = now_ms();
        if (nghttp2_session_mem_recv(c->session, buf, (size_t)n) < 0) return -1;
        /* a short read emptied the socket; TLS gives one record (16 KiB at most) per read: read on
         * until it wants the socket (the loop's bound; what OpenSSL holds decrypted is read first) */
        if (c->ssl == NULL && (size_t)n < sizeof(buf)) return 0;
    }
    return 0;
}

static void conn_event(conn_t *c, uint32_t events)
{
    if (c->handshaking) { /* a client that speaks no TLS (or badly) ends here, closed */
        int h = grpcd_tls_handshake(c);
        if (h < 0 || (h == 0 && conn_update_events(c) != 0)) {
            grpcd_conn_close(c);
            return;
        }
        if (h == 0) return;
        events |= EPOLLIN; /* HTTP/2 bytes may have come with the handshake's last flight */
    }
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && conn_read(c) != 0) {
        grpcd_conn_close(c);
        return;
    }
    flush_or_close(c);
}

static void close_idle(grpcd_t *s, int64_t now)
{
    if (s->opt.idle_timeout_ms <= 0) return;
    conn_t *next;
    for (conn_t *c = s->conns; c; c = next) {
        next = c->next;
        /* a call held by a handler keeps its connection; streams that merely sit open do not */
        if (c->held == 0 && now - c->last_active_ms >= s->opt.idle_timeout_ms) {
            /* a GOAWAY first, sent if the socket takes it */
            nghttp2_session_terminate_session(c->session, NGHTTP2_NO_ERROR);
            (void)grpcd_conn_flush(c); /* best effort: the connection closes either way */
            grpcd_conn_close(c);
        }
    }
}

/* ---- finished calls ------------------------------------------------------------------------------ */

char *grpcd_message_encode(const char *message)
{
    if (message == NULL || *message == '\0') return NULL;
    buf_t enc;
    buf_init(&enc, 3 * MAX_MESSAGE_TEXT);
    /* past the cap the message is sent cut: what fit is kept */
    if (grpc_percent_encode(message, &enc) != 0 && enc.len == 0) {
        buf_dispose(&enc);
        return NULL;
    }
    return buf_take(&enc);
}

static char *encode_details(const void *details, size_t len)
{
    if (details == NULL || len == 0 || len > MAX_DETAILS_BYTES) return NULL;
    buf_t b64;
    buf_init(&b64, len / 3 * 4 + 4);
    if (grpc_base64_encode(details, len, &b64) != 0) {
        buf_dispose(&b64);
        return NULL;
    }
    return buf_take(&b64);
}

void grpcd_call_finish(grpcd_call_t *call, int grpc_status, const char *message, const void *response,
                       size_t response_len, const void *status_details, size_t details_len)
{
    grpcd_t *s = call->srv;
    call->status = grpc_status >= 0 && grpc_status < GRPC_CODE_COUNT ? grpc_status : GRPC_UNKNOWN;
    if (call->status == GRPC_OK && response_len > UINT32_MAX) {
        call->status = GRPC_INTERNAL;
        message = "response too large";
    }
    if (call->status == GRPC_OK) {
        call->body_len = GRPC_FRAME_HEADER_LEN + response_len;
        call->body = xmalloc(call->body_len);
        grpc_frame_header_write(call->body, 0, (uint32_t)response_len);
        if (response_len) memcpy(call->body + GRPC_FRAME_HEADER_LEN, response, response_len);
    } else {
        call->message = grpcd_message_encode(message);
        call->details = encode_details(status_details, details_len);
    }
    pthread_mutex_lock(&s->mu);
    call->next = NULL;
    if (s->done_tail)
        s->done_tail->next = call;
    else
        s->done_head = call;
    s->done_tail = call;
    /* The wake-up is written under the lock: once it is released grpcd_free() may free the server. */
    uint64_t one = 1;
    if (write(s->event_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        log_warn("grpcd: eventfd write: %s", strerror(errno));
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

int grpcd_call_key_index(const grpcd_call_t *call)
{
    return call->key_index;
}

/* Takes the whole queue under the lock; the calls are delivered outside it. */
static grpcd_call_t *take_finished(grpcd_t *s)
{
    pthread_mutex_lock(&s->mu);
    grpcd_call_t *list = s->done_head;
    s->done_head = s->done_tail = NULL;
    pthread_mutex_unlock(&s->mu);
    return list;
}

static void deliver_list(grpcd_t *s, grpcd_call_t *list)
{
    size_t n = 0;
    while (list) {
        grpcd_call_t *next = list->next;
        conn_t *c = grpcd_call_deliver(list);
        if (c) flush_or_close(c);
        list = next;
        n++;
    }
    if (n == 0) return;
    pthread_mutex_lock(&s->mu);
    s->outstanding -= n;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void grpcd_drain_finished(grpcd_t *s)
{
    uint64_t v;
    if (s->event_fd >= 0 && read(s->event_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        log_warn("grpcd: eventfd read: %s", strerror(errno));
    deliver_list(s, take_finished(s));
}

/* ---- the loop ------------------------------------------------------------------------------------ */

static void *loop(void *arg)
{
    grpcd_t *s = arg;
    struct epoll_event evs[MAX_EVENTS];
    int64_t next_tick = now_ms() + TICK_MS;
    while (!atomic_load(&s->stopping)) {
        int n = epoll_wait(s->epoll_fd, evs, MAX_EVENTS, TICK_MS);
        if (n < 0 && errno != EINTR) {
            log_error("grpcd: epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &s->listen_fd)
                accept_all(s);
            else if (p != &s->event_fd)
                conn_event(p, evs[i].events);
        }
        /* calls finished by handlers during this round (or by other threads) go out now */
        grpcd_drain_finished(s);
        int64_t now = now_ms();
        if (now >= next_tick) {
            close_idle(s, now);
            next_tick = now + TICK_MS;
        }
    }
    return NULL;
}

int grpcd_start(grpcd_t *s, char *err, size_t errlen)
{
    if (s->started) {
        snprintf(err, errlen, "grpcd: already started");
        return -1;
    }
    int rc = pthread_create(&s->thread, NULL, loop, s);
    if (rc != 0) {
        snprintf(err, errlen, "grpcd: pthread_create: %s", strerror(rc));
        return -1;
    }
    s->started = 1;
    return 0;
}

void grpcd_stats(const grpcd_t *s, grpcd_stats_t *out)
{
    grpcd_counters_t *c = (grpcd_counters_t *)&s->count;
    for (int i = 0; i < GRPC_CODE_COUNT; i++)
        out->calls[i] = atomic_load(&c->calls[i]);
    out->http_rejected = atomic_load(&c->http_rejected);
    out->calls_abandoned = atomic_load(&c->calls_abandoned);
    out->streams_reset = atomic_load(&c->streams_reset);
    out->connections_accepted = atomic_load(&c->connections_accepted);
    out->connections_refused = atomic_load(&c->connections_refused);
    out->connections_open = atomic_load(&c->connections_open);
}

/* Waits for every call held by a handler; their connections are gone, so finishing only frees them. */
static void wait_outstanding(grpcd_t *s)
{
    pthread_mutex_lock(&s->mu);
    while (s->outstanding > 0) {
        if (s->done_head == NULL) {
            pthread_cond_wait(&s->cv, &s->mu);
            continue;
        }
        pthread_mutex_unlock(&s->mu);
        deliver_list(s, take_finished(s));
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
}

void grpcd_free(grpcd_t *s)
{
    if (s == NULL) return;
    if (s->started) {
        atomic_store(&s->stopping, 1);
        uint64_t one = 1;
        if (write(s->event_fd, &one, sizeof(one)) < 0) log_warn("grpcd: eventfd write: %s", strerror(errno));
        pthread_join(s->thread, NULL);
    }
    while (s->conns)
        grpcd_conn_close(s->conns);
    wait_outstanding(s);
    if (s->listen_fd >= 0) close(s->listen_fd);
    if (s->epoll_fd >= 0) close(s->epoll_fd);
    if (s->event_fd >= 0) close(s->event_fd);
    for (size_t i = 0; i < s->nmethods; i++)
        free(s->methods[i].path);
    free(s->methods);
    peerlimit_free(s->peers);
    SSL_CTX_free(s->tls);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}
