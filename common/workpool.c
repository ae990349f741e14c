/* Worker threads with their own connections (see workpool.h). */
#include "workpool.h"
#include "alloc.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct item {
    struct item *next;
    httpd_job_t *job;
    workpool_fn fn;
} item_t;

struct workpool {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    item_t *head, *tail;
    int stopping;
    int nthreads;
    pthread_t *tids;
    worker_t *workers;
};

typedef struct {
    workpool_t *pool;
    worker_t *w;
} start_t;

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
        }
        pthread_mutex_unlock(&p->lock);
        if (it == NULL) break; /* stopping and drained */
        it->fn(it->job, w);
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
    return p;
}

void workpool_submit(workpool_t *p, httpd_job_t *job, workpool_fn fn)
{
    item_t *it = xmalloc(sizeof(*it));
    it->next = NULL;
    it->job = job;
    it->fn = fn;
    pthread_mutex_lock(&p->lock);
    if (p->tail)
        p->tail->next = it;
    else
        p->head = it;
    p->tail = it;
    pthread_cond_signal(&p->ready);
    pthread_mutex_unlock(&p->lock);
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
