/* Worker threads with their own connections (see workpool.h). */
#include "workpool.h"
#include "alloc.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

/* How often a worker waiting for PostgreSQL looks whether its client is still there. HTTP/1.1 in
 * H2O 2.2.5 stops reading a connection while its request is handled, so a client that closes it is
 * seen only by looking (a peek that finds EOF); an HTTP/2 reset disposes the request, which sets
 * `gone` (on_request_disposed). */
#define WATCH_PERIOD_MS 200

/* What a cancellable job shares with its request; freed by whoever drops the last reference:
 *
 *   request pool ──(slot, disposed with the request)──┐
 *   queue item, then its worker ───────────────────────┴──► workpool_cancel { refs, gone, fd }
 */
struct workpool_cancel {
    pthread_mutex_t lock;
    int refs;
    int gone; /* the request's pool was disposed: nobody waits for the answer */
    int fd;   /* the client's socket, -1 when unknown; peeked at only while the request lives */
};

typedef struct item {
    struct item *next;
    httpd_job_t *job;
    workpool_fn fn;
    workpool_cancel_t *cancel; /* NULL for plain jobs */
} item_t;

struct workpool {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    item_t *head, *tail;
    int queued, max_queue;
    int stopping;
    int nthreads;
    pthread_t *tids;
    worker_t *workers;
    unsigned long cancelled;
};

typedef struct {
    workpool_t *pool;
    worker_t *w;
    workpool_warm_fn warm;
} start_t;

static void cancel_unref(workpool_cancel_t *c)
{
    pthread_mutex_lock(&c->lock);
    int last = --c->refs == 0;
    pthread_mutex_unlock(&c->lock);
    if (!last) return;
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* Request pool disposal (loop thread): the client will read no answer. */
static void on_request_disposed(void *slot)
{
    workpool_cancel_t *c = *(workpool_cancel_t **)slot;
    pthread_mutex_lock(&c->lock);
    c->gone = 1;
    pthread_mutex_unlock(&c->lock);
    cancel_unref(c);
}

/* 1 when the job's client is gone: its request disposed, or its socket at EOF. Under c->lock, so the
 * fd is peeked at only while the request (and so its connection) lives. */
static int client_gone(workpool_cancel_t *c)
{
    pthread_mutex_lock(&c->lock);
    if (!c->gone && c->fd >= 0) {
        char b;
        ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) c->gone = 1;
    }
    int gone = c->gone;
    pthread_mutex_unlock(&c->lock);
    return gone;
}

static void *run(void *arg)
{
    start_t *s = arg;
    workpool_t *p = s->pool;
    worker_t *w = s->w;
    workpool_warm_fn warm = s->warm;
    free(s);
    if (warm) warm(w);
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (p->head == NULL && !p->stopping)
            pthread_cond_wait(&p->ready, &p->lock);
        item_t *it = p->head;
        if (it) {
            p->head = it->next;
            if (p->head == NULL) p->tail = NULL;
            p->queued--;
        }
        pthread_mutex_unlock(&p->lock);
        if (it == NULL) break; /* stopping and drained */
        w->cancel = it->cancel;
        w->pool = p;
        if (it->cancel && client_gone(it->cancel))
            httpd_job_finish(it->job); /* the client left before it ran: on_done gets req NULL, frees it */
        else
            it->fn(it->job, w);
        w->cancel = NULL;
        if (it->cancel) cancel_unref(it->cancel);
        free(it);
    }
    PQfinish(w->pg);
    redisFree(w->redis);
    return NULL;
}

workpool_t *workpool_create(int threads, const char *database_url, const char *redis_url, void *app)
{
    return workpool_create_warm(threads, database_url, redis_url, app, NULL);
}

workpool_t *workpool_create_warm(int threads, const char *database_url, const char *redis_url, void *app,
                                 workpool_warm_fn warm)
{
    workpool_t *p = xcalloc(1, sizeof(*p));
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->ready, NULL);
    p->nthreads = threads;
    p->tids = xcalloc((size_t)threads, sizeof(*p->tids));
    p->workers = xcalloc((size_t)threads, sizeof(*p->workers));
    for (int i = 0; i < threads; i++) {
        worker_t *w = &p->workers[i];
        w->index = i;
        w->database_url = database_url;
        w->redis_url = redis_url;
        w->app = app;
        start_t *s = xmalloc(sizeof(*s));
        s->pool = p;
        s->w = w;
        s->warm = warm;
        pthread_create(&p->tids[i], NULL, run, s);
    }
    return p;
}

void workpool_set_max_queue(workpool_t *p, int max_queue)
{
    pthread_mutex_lock(&p->lock);
    p->max_queue = max_queue;
    pthread_mutex_unlock(&p->lock);
}

static int enqueue(workpool_t *p, item_t *it)
{
    pthread_mutex_lock(&p->lock);
    if (p->max_queue > 0 && p->queued >= p->max_queue) {
        pthread_mutex_unlock(&p->lock);
        return -1;
    }
    if (p->tail)
        p->tail->next = it;
    else
        p->head = it;
    p->tail = it;
    p->queued++;
    pthread_cond_signal(&p->ready);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

int workpool_submit(workpool_t *p, httpd_job_t *job, workpool_fn fn)
{
    item_t *it = xcalloc(1, sizeof(*it));
    it->job = job;
    it->fn = fn;
    if (enqueue(p, it) == 0) return 0;
    free(it);
    return -1;
}

int workpool_submit_cancellable(workpool_t *p, httpd_job_t *job, workpool_fn fn)
{
    workpool_cancel_t *c = xcalloc(1, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    c->refs = 2; /* the request's pool and the queue item */
    h2o_conn_t *conn = job->req->conn;
    h2o_socket_t *sock = conn->callbacks->get_socket ? conn->callbacks->get_socket(conn) : NULL;
    c->fd = sock ? h2o_socket_get_fd(sock) : -1;
    item_t *it = xcalloc(1, sizeof(*it));
    it->job = job;
    it->fn = fn;
    it->cancel = c;
    if (enqueue(p, it) != 0) {
        free(it);
        pthread_mutex_destroy(&c->lock);
        free(c);
        return -1;
    }
    /* after the enqueue is safe: the loop thread holds the request, and the job's answer (or its
     * disposal) can only run on this thread, after we return */
    workpool_cancel_t **slot = h2o_mem_alloc_shared(&job->req->pool, sizeof(*slot), on_request_disposed);
    *slot = c;
    return 0;
}

PGresult *workpool_exec_params(worker_t *w, const char *sql, int nparams, const char *const *params)
{
    workpool_cancel_t *c = w->cancel;
    if (c == NULL) return PQexecParams(w->pg, sql, nparams, NULL, params, NULL, NULL, 0);
    if (!PQsendQueryParams(w->pg, sql, nparams, NULL, params, NULL, NULL, 0)) return NULL;
    int cancelled = 0;
    struct timespec last, now;
    clock_gettime(CLOCK_MONOTONIC, &last);
    while (PQisBusy(w->pg)) {
        struct pollfd pf = {.fd = PQsocket(w->pg), .events = POLLIN};
        int n = poll(&pf, 1, WATCH_PERIOD_MS);
        if (n > 0 && !PQconsumeInput(w->pg)) break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (now.tv_sec - last.tv_sec) * 1000 + (now.tv_nsec - last.tv_nsec) / 1000000;
        if (cancelled || ms < WATCH_PERIOD_MS) continue;
        last = now;
        if (client_gone(c)) {
            /* from this thread: PQcancel connects to the server, which the loop thread must not wait for */
            PGcancel *pc = PQgetCancel(w->pg);
            char err[256];
            if (pc && PQcancel(pc, err, sizeof(err))) {
                pthread_mutex_lock(&w->pool->lock);
                w->pool->cancelled++;
                pthread_mutex_unlock(&w->pool->lock);
            }
            PQfreeCancel(pc);
            cancelled = 1; /* the statement now ends with 57014; its result is read as usual */
        }
    }
    /* the last result is the statement's; later NULL ends the command */
    PGresult *r = NULL, *next;
    while ((next = PQgetResult(w->pg)) != NULL) {
        PQclear(r);
        r = next;
    }
    return r;
}

unsigned long workpool_cancelled(workpool_t *p)
{
    pthread_mutex_lock(&p->lock);
    unsigned long n = p->cancelled;
    pthread_mutex_unlock(&p->lock);
    return n;
}

void workpool_free(workpool_t *p)
{
    if (p == NULL) return;
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_broadcast(&p->ready);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->tids[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->ready);
    free(p->tids);
    free(p->workers);
    free(p);
}
