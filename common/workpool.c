/* Worker threads with their own connections (see workpool.h). */
#include "workpool.h"
#include "alloc.h"

#include <pthread.h>
#include <stdlib.h>

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
    struct workpool_cancel *next; /* in the cancel thread's list */
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

static void *run_canceller(void *arg)
{
    workpool_t *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->cancels == NULL && !p->stopping)
            pthread_cond_wait(&p->cancel_ready, &p->lock);
        workpool_cancel_t *c = p->cancels;
        if (c == NULL) break; /* stopping and nothing pending */
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
    int gone = c->gone;
    if (!gone && c->pg == NULL) c->pg = PQgetCancel(w->pg);
    pthread_mutex_unlock(&c->lock);
    return gone ? -1 : 0;
}

void workpool_cancel_disarm(worker_t *w)
{
    workpool_cancel_t *c = w->cancel;
    if (c == NULL) return;
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
