/* Redis Streams consumer-group queue (see queue.h). */
#include "queue.h"
#include "alloc.h"
#include "log.h"
#include "redisx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REDIS_TIMEOUT_MS 5000

/* KEYS: stream. ARGV: group, id, consumer. Resets the idle time of a pending entry, but only while
 * `consumer` still holds it: a renewal that comes late never takes a job back from the worker that took
 * it over. JUSTID: the delivery count stays as it is. */
static const char renew_script[] = "local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)\n"
                                   "if #p == 1 and p[1][2] == ARGV[3] then\n"
                                   "  redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, ARGV[2], 'JUSTID')\n"
                                   "  return 1\n"
                                   "end\n"
                                   "return 0\n";

/* KEYS: stream. ARGV: group, idle ms. Removes the group's consumers idle longer than ARGV[2] that hold no
 * pending entry: consumer names change with every restart (<INSTANCE_ID>-w<n>), so those of dead
 * processes would pile up for ever. Atomic, so a consumer cannot take an entry between the check and
 * its removal (removing a consumer drops its pending entries: one holding any is never removed). A live
 * worker reads at least every block time, far below the limit, and a removed one is recreated by its
 * next read anyway. Returns how many were removed. */
static const char prune_script[] =
    "local gone = 0\n"
    "for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do\n"
    "  local f = {}\n"
    "  for i = 1, #c, 2 do f[c[i]] = c[i + 1] end\n"
    "  if f['pending'] == 0 and f['idle'] > tonumber(ARGV[2]) then\n"
    "    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], f['name'])\n"
    "    gone = gone + 1\n"
    "  end\n"
    "end\n"
    "return gone\n";
/* Consumers idle this many visibility timeouts are those of dead processes. */
#define PRUNE_IDLE_TIMEOUTS 10

struct queue {
    const config_t *cfg;
    redisContext *redis;
    char stream[128];
    char consumer[96];
    int group_ready;
};

queue_t *queue_create(const config_t *cfg, const char *consumer)
{
    queue_t *q = xcalloc(1, sizeof(*q));
    q->cfg = cfg;
    queue_contract_stream(cfg->redis_prefix, q->stream, sizeof(q->stream));
    snprintf(q->consumer, sizeof(q->consumer), "%s", consumer);
    return q;
}

void queue_free(queue_t *q)
{
    if (q == NULL) return;
    redisFree(q->redis);
    free(q);
}

/* Removes the group's dead consumers (see prune_script); a failure is only logged: they wait for the
 * next start. */
static void prune_consumers(queue_t *q)
{
    char idle[32];
    snprintf(idle, sizeof(idle), "%lld", (long long)q->cfg->visibility_timeout_ms * PRUNE_IDLE_TIMEOUTS);
    const char *argv[] = {"EVAL", prune_script, "1", q->stream, QUEUE_GROUP, idle};
    redisReply *r = redisCommandArgv(q->redis, 6, argv, NULL);
    if (r && r->type == REDIS_REPLY_INTEGER && r->integer > 0)
        log_info("removed %lld consumers of group %s idle over %s ms with nothing pending", r->integer,
                 QUEUE_GROUP, idle);
    else if (r == NULL || r->type == REDIS_REPLY_ERROR)
        log_warn("removing idle consumers: %s", r ? r->str : q->redis->errstr);
    freeReplyObject(r);
}

/* Connects and creates the group once (from the stream's start, so jobs queued before any worker
 * existed are not skipped). */
static int ready(queue_t *q)
{
    if (q->redis == NULL || q->redis->err) {
        redisFree(q->redis);
        char err[256];
        /* the blocking read needs a longer timeout than the block time */
        q->redis = redisx_connect(q->cfg->redis_url, REDIS_TIMEOUT_MS, err, sizeof(err));
        q->group_ready = 0;
        if (q->redis == NULL) return 0;
    }
    if (!q->group_ready) {
        redisReply *r = redisCommand(q->redis, "XGROUP CREATE %s %s 0 MKSTREAM", q->stream, QUEUE_GROUP);
        int ok = r && (r->type != REDIS_REPLY_ERROR || strstr(r->str, "BUSYGROUP"));
        freeReplyObject(r);
        if (!ok) return 0;
        q->group_ready = 1;
        prune_consumers(q);
    }
    return 1;
}

/* Reads one entry [id, [field, value, ...]] into job. */
static int entry_to_job(const redisReply *e, queue_job_t *job)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 || e->element[0]->type != REDIS_REPLY_STRING)
        return 0;
    snprintf(job->id, sizeof(job->id), "%s", e->element[0]->str);
    job->trace_id[0] = '\0';
    const redisReply *f = e->element[1];
    for (size_t i = 0; f && f->type == REDIS_REPLY_ARRAY && i + 1 < f->elements; i += 2)
        if (strcmp(f->element[i]->str, QUEUE_FIELD_TRACE_ID) == 0)
            snprintf(job->trace_id, sizeof(job->trace_id), "%s", f->element[i + 1]->str);
        else if (strcmp(f->element[i]->str, QUEUE_FIELD_FORCE) == 0)
            job->force = strcmp(f->element[i + 1]->str, "1") == 0;
        else if (strcmp(f->element[i]->str, QUEUE_FIELD_HANDED_MS) == 0)
            job->handed_ms = strtoll(f->element[i + 1]->str, NULL, 10);
    return 1;
}

static long delivery_count(queue_t *q, const char *id)
{
    redisReply *r = redisCommand(q->redis, "XPENDING %s %s %s %s 1", q->stream, QUEUE_GROUP, id, id);
    long n = 1;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 && r->element[0]->elements >= 4)
        n = (long)r->element[0]->element[3]->integer;
    freeReplyObject(r);
    return n;
}

int queue_claim(queue_t *q, queue_job_t *job, int block_ms)
{
    if (!ready(q)) return -1;
    memset(job, 0, sizeof(*job));
    char idle[24];
    snprintf(idle, sizeof(idle), "%d", q->cfg->visibility_timeout_ms);
    redisReply *r = redisCommand(q->redis, "XAUTOCLAIM %s %s %s %s 0-0 COUNT 1", q->stream, QUEUE_GROUP,
                                 q->consumer, idle);
    if (redisx_reply_failed(q->redis, r)) { /* broken, or a demoted master: reconnect on the next call */
        freeReplyObject(r);
        return -1;
    }
    int got = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2 && r->element[1]->type == REDIS_REPLY_ARRAY &&
        r->element[1]->elements > 0)
        got = entry_to_job(r->element[1]->element[0], job);
    freeReplyObject(r);
    if (got) {
        job->deliveries = delivery_count(q, job->id);
        log_info("job %s (trace %s) taken over after the visibility timeout, delivery %ld", job->id,
                 job->trace_id, job->deliveries);
        return 1;
    }
    r = redisCommand(q->redis, "XREADGROUP GROUP %s %s COUNT 1 BLOCK %d STREAMS %s >", QUEUE_GROUP,
                     q->consumer, block_ms, q->stream);
    if (r == NULL) return -1;
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
        const redisReply *entries = r->element[0]->element[1];
        if (entries->type == REDIS_REPLY_ARRAY && entries->elements > 0)
            got = entry_to_job(entries->element[0], job);
    }
    freeReplyObject(r);
    if (got) job->deliveries = 1;
    return got;
}

int queue_ack(queue_t *q, const queue_job_t *job)
{
    if (!ready(q)) return -1;
    redisReply *r = redisCommand(q->redis, "XACK %s %s %s", q->stream, QUEUE_GROUP, job->id);
    int ok = r && r->type == REDIS_REPLY_INTEGER;
    freeReplyObject(r);
    if (!ok) return -1;
    r = redisCommand(q->redis, "XDEL %s %s", q->stream, job->id);
    freeReplyObject(r);
    return 0;
}

int queue_renew(queue_t *q, const char *job_id, const char *consumer)
{
    if (!ready(q)) return -1;
    const char *argv[] = {"EVAL", renew_script, "1", q->stream, QUEUE_GROUP, job_id, consumer};
    redisReply *r = redisCommandArgv(q->redis, 7, argv, NULL);
    int rc = r && r->type == REDIS_REPLY_INTEGER ? (int)r->integer : -1;
    if (r && r->type == REDIS_REPLY_ERROR) log_warn("renewing job %s: %s", job_id, r->str);
    freeReplyObject(r);
    return rc;
}

const char *queue_consumer(const queue_t *q)
{
    return q->consumer;
}
