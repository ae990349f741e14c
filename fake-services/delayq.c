/* Deadline queue of httpd jobs (see delayq.h): a binary min-heap on (due, sequence), so equal deadlines
 * finish in arrival order. */
#include "delayq.h"
#include "alloc.h"
#include "program.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

typedef struct {
    long long due_ms; /* monotonic */
    unsigned long seq;
    httpd_job_t *job;
} entry_t;

struct delayq {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    entry_t *heap;
    size_t n, cap;
    unsigned long seq;
    int stopping;
    pthread_t tid;
};

static int before(const entry_t *a, const entry_t *b)
{
    return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->seq < b->seq);
}

static void swap(entry_t *a, entry_t *b)
{
    entry_t t = *a;
    *a = *b;
    *b = t;
}

static void push(delayq_t *q, entry_t e)
{
    if (q->n == q->cap) {
        q->cap = q->cap ? 2 * q->cap : 64;
        q->heap = xrealloc(q->heap, q->cap * sizeof(*q->heap));
    }
    size_t i = q->n++;
    q->heap[i] = e;
    while (i > 0 && before(&q->heap[i], &q->heap[(i - 1) / 2])) {
        swap(&q->heap[i], &q->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
}

static entry_t pop(delayq_t *q)
{
    entry_t top = q->heap[0];
    q->heap[0] = q->heap[--q->n];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->n && before(&q->heap[l], &q->heap[m])) m = l;
        if (r < q->n && before(&q->heap[r], &q->heap[m])) m = r;
        if (m == i) break;
        swap(&q->heap[i], &q->heap[m]);
        i = m;
    }
    return top;
}

static void *run(void *arg)
{
    delayq_t *q = arg;
    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (q->n > 0 && (q->stopping || q->heap[0].due_ms <= mono_ms())) {
            httpd_job_t *job = pop(q).job;
            pthread_mutex_unlock(&q->lock);
            httpd_job_finish(job);
            pthread_mutex_lock(&q->lock);
        }
        if (q->stopping) break;
        if (q->n == 0) {
            pthread_cond_wait(&q->wake, &q->lock);
        } else {
            long long due = q->heap[0].due_ms;
            struct timespec until = {(time_t)(due / 1000), (long)(due % 1000) * 1000000};
            pthread_cond_timedwait(&q->wake, &q->lock, &until);
        }
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

delayq_t *delayq_create(void)
{
    delayq_t *q = xcalloc(1, sizeof(*q));
    pthread_mutex_init(&q->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* mono_ms() reads the same clock */
    pthread_cond_init(&q->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_create(&q->tid, NULL, run, q);
    return q;
}

void delayq_add(delayq_t *q, httpd_job_t *job, int delay_ms)
{
    pthread_mutex_lock(&q->lock);
    entry_t e = {mono_ms() + (delay_ms > 0 ? delay_ms : 0), q->seq++, job};
    push(q, e);
    pthread_cond_signal(&q->wake);
    pthread_mutex_unlock(&q->lock);
}

void delayq_free(delayq_t *q)
{
    if (q == NULL) return;
    pthread_mutex_lock(&q->lock);
    q->stopping = 1;
    pthread_cond_signal(&q->wake);
    pthread_mutex_unlock(&q->lock);
    pthread_join(q->tid, NULL);
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->wake);
    free(q->heap);
    free(q);
}
