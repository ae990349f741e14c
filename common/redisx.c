/* Redis target parsing and connection, directly or through Redis Sentinel (see redisx.h). */
#include "redisx.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SENTINEL_SCHEME "redis+sentinel://"
#define MAX_SENTINELS 16

typedef struct {
    char host[256];
    int port;
} host_port_t;

typedef struct {
    host_port_t server; /* redis:// target */
    char password[256];
    int db;
    char master[128]; /* Sentinel target: the master's name ("" for redis://) */
    host_port_t sentinels[MAX_SENTINELS];
    int nsentinels;
} redis_target_t;

/* "host[:port]" of length n into hp. */
static int parse_host_port(const char *p, size_t n, host_port_t *hp)
{
    hp->port = 6379;
    const char *colon = memchr(p, ':', n);
    size_t hl = colon ? (size_t)(colon - p) : n;
    if (hl == 0 || hl >= sizeof(hp->host)) return -1;
    memcpy(hp->host, p, hl);
    hp->host[hl] = '\0';
    if (colon) {
        char digits[8];
        size_t dl = n - hl - 1;
        if (dl == 0 || dl >= sizeof(digits) || strspn(colon + 1, "0123456789") < dl) return -1;
        memcpy(digits, colon + 1, dl);
        digits[dl] = '\0';
        hp->port = atoi(digits);
        if (hp->port <= 0 || hp->port > 65535) return -1;
    }
    return 0;
}

/* Parses either form of redisx.h into t; -1 when malformed. */
static int parse_target(const char *url, redis_target_t *t)
{
    memset(t, 0, sizeof(*t));
    int sentinel = strncmp(url, SENTINEL_SCHEME, strlen(SENTINEL_SCHEME)) == 0;
    if (!sentinel && strncmp(url, "redis://", 8) != 0) return -1;
    const char *p = url + (sentinel ? strlen(SENTINEL_SCHEME) : 8);
    const char *at = strchr(p, '@'); /* a password may hold '/': the first '@' ends it, as before */
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p;
        size_t n = (size_t)(at - pw);
        if (n >= sizeof(t->password)) return -1;
        memcpy(t->password, pw, n);
        p = at + 1;
    }
    size_t authority = strcspn(p, "/");
    if (!sentinel) {
        if (parse_host_port(p, authority, &t->server) != 0) return -1;
    } else {
        for (const char *h = p; h < p + authority;) {
            size_t n = strcspn(h, ",/");
            if (t->nsentinels == MAX_SENTINELS || parse_host_port(h, n, &t->sentinels[t->nsentinels++]) != 0)
                return -1;
            h += n + (h[n] == ',');
        }
        if (t->nsentinels == 0) return -1;
    }
    p += authority;
    if (*p == '/') p++;
    if (sentinel) {
        size_t n = strcspn(p, "/");
        if (n == 0 || n >= sizeof(t->master)) return -1;
        memcpy(t->master, p, n);
        p += n + (p[n] == '/');
    }
    if (*p) t->db = atoi(p);
    return 0;
}

static int command_ok(redisContext *c, const char *what, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    int ok = r && r->type != REDIS_REPLY_ERROR;
    if (!ok) snprintf(err, errlen, "%s: %s", what, r ? r->str : c->errstr);
    freeReplyObject(r);
    return ok;
}

static redisContext *open_tcp(const host_port_t *hp, struct timeval tv, char *err, size_t errlen)
{
    redisContext *c = redisConnectWithTimeout(hp->host, hp->port, tv);
    if (c == NULL || c->err) {
        snprintf(err, errlen, "cannot connect to Redis at %s:%d: %s", hp->host, hp->port,
                 c ? c->errstr : "out of memory");
        redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    return c;
}

/* 1 when the server's ROLE is master (a replica answers READONLY to every write). */
static int is_master(redisContext *c)
{
    redisReply *r = redisCommand(c, "ROLE");
    int ok = r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
             r->element[0]->type == REDIS_REPLY_STRING && strcmp(r->element[0]->str, "master") == 0;
    freeReplyObject(r);
    return ok;
}

/* Asks one sentinel where the master is; 0 with `out` filled, or -1 with err. */
static int ask_sentinel(const host_port_t *s, const char *master, struct timeval tv, host_port_t *out,
                        char *err, size_t errlen)
{
    redisContext *c = open_tcp(s, tv, err, errlen);
    if (c == NULL) return -1;
    redisReply *r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", master);
    int rc = -1;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[0]->type == REDIS_REPLY_STRING &&
        r->element[1]->type == REDIS_REPLY_STRING) {
        snprintf(out->host, sizeof(out->host), "%s", r->element[0]->str);
        out->port = atoi(r->element[1]->str);
        rc = out->port > 0 && out->port <= 65535 ? 0 : -1;
    }
    if (rc != 0)
        snprintf(err, errlen, "sentinel %s:%d does not know master \"%s\"%s%s", s->host, s->port, master,
                 r && r->type == REDIS_REPLY_ERROR ? ": " : "",
                 r && r->type == REDIS_REPLY_ERROR ? r->str : "");
    freeReplyObject(r);
    redisFree(c);
    return rc;
}

/* Connects to one server and authenticates and selects the database. */
static redisContext *open_server(const host_port_t *hp, const redis_target_t *t, struct timeval tv, char *err,
                                 size_t errlen)
{
    redisContext *c = open_tcp(hp, tv, err, errlen);
    if (c == NULL) return NULL;
    if ((t->password[0] && !command_ok(c, "AUTH", err, errlen, "AUTH %s", t->password)) ||
        (t->db && !command_ok(c, "SELECT", err, errlen, "SELECT %d", t->db))) {
        redisFree(c);
        return NULL;
    }
    return c;
}

/* The master through the sentinels, tried in order: the first whose answer is a reachable master wins. */
static redisContext *open_via_sentinels(const redis_target_t *t, struct timeval tv, char *err, size_t errlen)
{
    for (int i = 0; i < t->nsentinels; i++) {
        host_port_t m;
        if (ask_sentinel(&t->sentinels[i], t->master, tv, &m, err, errlen) != 0) continue;
        redisContext *c = open_server(&m, t, tv, err, errlen);
        if (c == NULL) continue;
        if (is_master(c)) return c;
        snprintf(err, errlen,
                 "%s:%d, named master \"%s\" by sentinel %s:%d, is not a master (failover under way)", m.host,
                 m.port, t->master, t->sentinels[i].host, t->sentinels[i].port);
        redisFree(c);
    }
    return NULL;
}

redisContext *redisx_connect(const char *url, int timeout_ms, char *err, size_t errlen)
{
    redis_target_t t;
    if (parse_target(url, &t) != 0) {
        snprintf(err, errlen, "malformed Redis URL");
        return NULL;
    }
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    return t.master[0] ? open_via_sentinels(&t, tv, err, errlen)
                       : open_server(&t.server, &t, tv, err, errlen);
}

int redisx_ensure_fresh(redisContext **c, const char *url, int timeout_ms, int *reconnected)
{
    if (reconnected) *reconnected = 0;
    if (*c && !(*c)->err) {
        int ok;
        if (strncmp(url, SENTINEL_SCHEME, strlen(SENTINEL_SCHEME)) == 0) {
            ok = is_master(*c);
        } else {
            redisReply *r = redisCommand(*c, "PING");
            ok = r && r->type != REDIS_REPLY_ERROR;
            freeReplyObject(r);
        }
        if (ok) return 1;
    }
    redisFree(*c);
    char err[256];
    *c = redisx_connect(url, timeout_ms, err, sizeof(err));
    if (*c && reconnected) *reconnected = 1;
    return *c != NULL;
}

int redisx_ensure(redisContext **c, const char *url, int timeout_ms)
{
    return redisx_ensure_fresh(c, url, timeout_ms, NULL);
}

int redisx_reply_failed(redisContext *c, const redisReply *r)
{
    if (r == NULL) return 1;
    if (r->type != REDIS_REPLY_ERROR || r->str == NULL) return 0;
    static const char *const prefixes[] = {"READONLY", "MASTERDOWN", "LOADING"};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(*prefixes); i++) {
        if (strncmp(r->str, prefixes[i], strlen(prefixes[i])) != 0) continue;
        /* the context is kept but marked like a broken connection: every caller already reconnects then */
        if (c && !c->err) {
            c->err = REDIS_ERR_OTHER;
            snprintf(c->errstr, sizeof(c->errstr), "%s", r->str);
        }
        return 1;
    }
    return 0;
}
