/* Webhook receiver for tests (see ts_sink.h). One thread accepts and serves one request per
 * connection (Connection: close), which is all libcurl's single POSTs need. */
#include "ts_sink.h"
#include "ts.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SINK_MAX 256

struct ts_sink {
    int port, fd;
    atomic_int status, stopping;
    atomic_int fail_left, fail_status;
    pthread_t tid;
    int running;
    pthread_mutex_t lock;
    char *path[SINK_MAX], *body[SINK_MAX];
    int answered[SINK_MAX];
    long long at_ms[SINK_MAX];
    size_t n;
};

/* Reads one request: headers, then Content-Length bytes of body. */
static void serve(ts_sink_t *s, int c)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    long want = -1;
    char *body = NULL;
    while (len < cap) {
        struct pollfd p = {c, POLLIN, 0};
        if (poll(&p, 1, 2000) <= 0) break;
        ssize_t k = read(c, buf + len, cap - len);
        if (k <= 0) break;
        len += (size_t)k;
        buf[len] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end && want < 0) {
            body = end + 4;
            char *cl = strcasestr(buf, "\r\nContent-Length:");
            want = cl && cl < end ? strtol(cl + 17, NULL, 10) : 0;
        }
        if (body && (long)(len - (size_t)(body - buf)) >= want) break;
    }
    buf[len] = '\0';
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int status = atomic_load(&s->status);
    int left = atomic_load(&s->fail_left); /* only this thread counts down */
    if (body && left > 0) {
        atomic_store(&s->fail_left, left - 1);
        status = atomic_load(&s->fail_status);
    }
    char path[256] = "";
    sscanf(buf, "%*s %255s", path);
    pthread_mutex_lock(&s->lock);
    if (s->n < SINK_MAX && body) {
        s->path[s->n] = strdup(path);
        s->body[s->n] = strdup(body);
        s->answered[s->n] = status;
        s->at_ms[s->n] = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
        s->n++;
    }
    pthread_mutex_unlock(&s->lock);
    char resp[160];
    int n = snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                     status);
    if (write(c, resp, (size_t)n) < 0) { /* the client went away: nothing to do */
    }
    free(buf);
}

static void *sink_main(void *arg)
{
    ts_sink_t *s = arg;
    while (!atomic_load(&s->stopping)) {
        struct pollfd p = {s->fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0) continue;
        int c = accept(s->fd, NULL, NULL);
        if (c < 0) continue;
        serve(s, c);
        close(c);
    }
    return NULL;
}

ts_sink_t *ts_sink_create(void)
{
    ts_sink_t *s = calloc(1, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    int fd = ts_listen(0);
    struct sockaddr_in a;
    socklen_t l = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &l);
    s->port = ntohs(a.sin_port);
    close(fd); /* down until ts_sink_up(): connections are refused */
    s->fd = -1;
    return s;
}

int ts_sink_port(const ts_sink_t *s)
{
    return s->port;
}

void ts_sink_up(ts_sink_t *s, int status)
{
    atomic_store(&s->status, status);
    s->fd = ts_listen(s->port);
    if (s->fd >= 0 && pthread_create(&s->tid, NULL, sink_main, s) == 0) s->running = 1;
}

void ts_sink_set_status(ts_sink_t *s, int status)
{
    atomic_store(&s->status, status);
}

void ts_sink_fail_next(ts_sink_t *s, int n, int status)
{
    atomic_store(&s->fail_status, status);
    atomic_store(&s->fail_left, n);
}

size_t ts_sink_count(ts_sink_t *s)
{
    pthread_mutex_lock(&s->lock);
    size_t n = s->n;
    pthread_mutex_unlock(&s->lock);
    return n;
}

size_t ts_sink_accepted(ts_sink_t *s)
{
    pthread_mutex_lock(&s->lock);
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        n += s->answered[i] >= 200 && s->answered[i] < 300;
    pthread_mutex_unlock(&s->lock);
    return n;
}

static char *copy_at(ts_sink_t *s, char **arr, size_t i)
{
    pthread_mutex_lock(&s->lock);
    char *v = i < s->n ? strdup(arr[i]) : NULL;
    pthread_mutex_unlock(&s->lock);
    return v;
}

char *ts_sink_path(ts_sink_t *s, size_t i)
{
    return copy_at(s, s->path, i);
}

char *ts_sink_body(ts_sink_t *s, size_t i)
{
    return copy_at(s, s->body, i);
}

long long ts_sink_time_ms(ts_sink_t *s, size_t i)
{
    pthread_mutex_lock(&s->lock);
    long long v = i < s->n ? s->at_ms[i] : 0;
    pthread_mutex_unlock(&s->lock);
    return v;
}

int ts_sink_status(ts_sink_t *s, size_t i)
{
    pthread_mutex_lock(&s->lock);
    int v = i < s->n ? s->answered[i] : 0;
    pthread_mutex_unlock(&s->lock);
    return v;
}

void ts_sink_free(ts_sink_t *s)
{
    if (s == NULL) return;
    atomic_store(&s->stopping, 1);
    if (s->running) pthread_join(s->tid, NULL);
    if (s->fd >= 0) close(s->fd);
    for (size_t i = 0; i < s->n; i++) {
        free(s->path[i]);
        free(s->body[i]);
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
}
