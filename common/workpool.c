/* Worker threads with their own connections (see workpool.h). */
#include "workpool.h"
#include "alloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

/* How often the cancel thread looks at the sockets of requests whose statement runs. HTTP/1.1 in
 * H2O 2.2.5 stops reading a connection while its request is handled, so a client that closes it is
 * seen only here (a peek that finds EOF); HTTP/2 resets dispose the request (on_request_disposed). */
#define WATCH_PERIOD_MS 200

/* What a cancellable job shares with its request, its worker and the cancel thread; freed by whoever
 * drops the last reference:
 *
 *   request pool ──(slot, disposed with the request)──┐
 *   queue item / worker ──────────────────────────────┼──► workpool_cancel { refs, gone, pg }
 *   cancel thread's list (while a cancel is pending) ─┘
 */
struct workpool_cancel {
    pthread_mutex_t lock;
    int refs;
    int gone;            /* the request's pool was disposed: nobody waits for the answer */
    PGcancel *pg;        /* set while the worker runs statements (armed) */
    workpool_t *pool;
    int fd;                       /* the client's socket, -1 when unknown; read only while armed */
    struct workpool_cancel *next; /* in the cancel thread's list */
    struct workpool_cancel *armed_prev, *armed_next; /* in the pool's armed list (pool lock) */
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
    /* the cancel thread */
    pthread_t canceller;
    pthread_cond_t cancel_ready;
    workpool_cancel_t *cancels;
    workpool_cancel_t *armed; /* cancellable jobs running statements, watched every WATCH_PERIOD_MS */
    unsigned long cancelled;
};

typedef struct {
    workpool_t *pool;
    worker_t *w;
} start_t;

static void cancel_unref(workpool_cancel_t *c)
{
    pthread_mutex_lock(&c->lock);
    int last = --c->refs == 0;
    pthread_mutex_unlock(&c->lock);
    if (!last) return;
    PQfreeCancel(c->pg);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static int cancel_gone(workpool_cancel_t *c)
{
    pthread_mutex_lock(&c->lock);
    int gone = c->gone;
    pthread_mutex_unlock(&c->lock);
    return gone;
}

/* Request pool disposal (loop thread): the client will read no answer. */
static void on_request_disposed(void *slot)
{
    workpool_cancel_t *c = *(workpool_cancel_t **)slot;
    pthread_mutex_lock(&c->lock);
    c->gone = 1;
    int armed = c->pg != NULL;
    if (armed) c->refs++; /* the cancel thread's */
    pthread_mutex_unlock(&c->lock);
    if (armed) {
        workpool_t *p = c->pool;
        pthread_mutex_lock(&p->lock);
        c->next = p->cancels;
        p->cancels = c;
        pthread_cond_signal(&p->cancel_ready);
        pthread_mutex_unlock(&p->lock);
    }
    cancel_unref(c);
}

/* A client socket that reads EOF (or fails) has been closed by the client. The fd stays the request's
 * while the job is armed: the request outlives its job. */
static int client_closed(int fd)
{
    if (fd < 0) return 0;
    char b;
    ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* Pool lock held: queues for cancelling the armed jobs whose client closed its connection. */
static void watch_armed(workpool_t *p)
{
    for (workpool_cancel_t *c = p->armed; c; c = c->armed_next) {
        if (!client_closed(c->fd)) continue;
        pthread_mutex_lock(&c->lock);
        int fresh = !c->gone;
        c->gone = 1;
        if (fresh) c->refs++;
        pthread_mutex_unlock(&c->lock);
        if (!fresh) continue; /* on_request_disposed queued it already */
        c->next = p->cancels;
        p->cancels = c;
    }
}

static void *run_canceller(void *arg)
{
    workpool_t *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        if (p->cancels == NULL && !p->stopping) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += WATCH_PERIOD_MS * 1000000L;
            until.tv_sec += until.tv_nsec / 1000000000;
            until.tv_nsec %= 1000000000;
            pthread_cond_timedwait(&p->cancel_ready, &p->lock, &until);
            watch_armed(p);
        }
        workpool_cancel_t *c = p->cancels;
        if (c == NULL) {
            if (p->stopping) break;
            continue;
        }
        p->cancels = c->next;
        pthread_mutex_unlock(&p->lock);
        /* under c->lock: disarm waits for a cancel in flight, so it cannot reach the worker's next job */
        pthread_mutex_lock(&c->lock);
        int sent = 0;
        if (c->pg) {
            char err[256];
            sent = PQcancel(c->pg, err, sizeof(err));
        }
        pthread_mutex_unlock(&c->lock);
        cancel_unref(c);
        pthread_mutex_lock(&p->lock);
        p->cancelled += (unsigned long)sent;
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static void *run(void *arg)
{
    start_t *s = arg;
    workpool_t *p = s->pool;
    worker_t *w = s->w;
    free(s);
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
        if (it->cancel && cancel_gone(it->cancel))
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
    workpool_t *p = xcalloc(1, sizeof(*p));
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->ready, NULL);
    pthread_cond_init(&p->cancel_ready, NULL);
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
        pthread_create(&p->tids[i], NULL, run, s);
    }
    pthread_create(&p->canceller, NULL, run_canceller, p);
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
    c->pool = p;
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
    workpool_cancel_t **slot = h2o_mem_alloc_shared(&job->req->pool, sizeof(*slot), on_request_disposed);
    *slot = c;
    return 0;
}

int workpool_cancel_arm(worker_t *w)
{
    workpool_cancel_t *c = w->cancel;
    if (c == NULL) return 0;
    pthread_mutex_lock(&c->lock);
    int gone = c->gone, armed = !gone && c->pg == NULL;
    if (armed) c->pg = PQgetCancel(w->pg);
    pthread_mutex_unlock(&c->lock);
    if (armed) {
        workpool_t *p = c->pool;
        pthread_mutex_lock(&p->lock);
        c->armed_prev = NULL;
        c->armed_next = p->armed;
        if (p->armed) p->armed->armed_prev = c;
        p->armed = c;
        pthread_mutex_unlock(&p->lock);
    }
    return gone ? -1 : 0;
}

void workpool_cancel_disarm(worker_t *w)
{
    workpool_cancel_t *c = w->cancel;
    if (c == NULL) return;
    workpool_t *p = c->pool;
    pthread_mutex_lock(&p->lock);
    if (c->armed_prev || p->armed == c) {
        if (c->armed_prev)
            c->armed_prev->armed_next = c->armed_next;
        else
            p->armed = c->armed_next;
        if (c->armed_next) c->armed_next->armed_prev = c->armed_prev;
        c->armed_prev = c->armed_next = NULL;
    }
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_lock(&c->lock);
    PQfreeCancel(c->pg);
    c->pg = NULL;
    pthread_mutex_unlock(&c->lock);
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
    pthread_cond_broadcast(&p->cancel_ready);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->tids[i], NULL);
    pthread_join(p->canceller, NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->ready);
    pthread_cond_destroy(&p->cancel_ready);
    free(p->tids);
    free(p->workers);
    free(p);
}
