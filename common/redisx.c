/* Redis URL parsing and connection (see redisx.h). */
#include "redisx.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char host[256];
    int port;
    char password[256];
    int db;
} redis_url_t;

static int parse_url(const char *url, redis_url_t *u)
{
    memset(u, 0, sizeof(*u));
    u->port = 6379;
    if (strncmp(url, "redis://", 8) != 0) return -1;
    const char *p = url + 8;
    const char *at = strchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p;
        size_t n = (size_t)(at - pw);
        if (n >= sizeof(u->password)) return -1;
        memcpy(u->password, pw, n);
        p = at + 1;
    }
    size_t hl = strcspn(p, ":/");
    if (hl == 0 || hl >= sizeof(u->host)) return -1;
    memcpy(u->host, p, hl);
    p += hl;
    if (*p == ':') {
        u->port = atoi(p + 1);
        if (u->port <= 0 || u->port > 65535) return -1;
        p += 1 + strspn(p + 1, "0123456789");
    }
    if (*p == '/' && p[1]) u->db = atoi(p + 1);
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

redisContext *redisx_connect(const char *url, int timeout_ms, char *err, size_t errlen)
{
    redis_url_t u;
    if (parse_url(url, &u) != 0) {
        snprintf(err, errlen, "malformed Redis URL");
        return NULL;
    }
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(u.host, u.port, tv);
    if (c == NULL || c->err) {
        snprintf(err, errlen, "cannot connect to Redis at %s:%d: %s", u.host, u.port,
                 c ? c->errstr : "out of memory");
        redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    if ((u.password[0] && !command_ok(c, "AUTH", err, errlen, "AUTH %s", u.password)) ||
        (u.db && !command_ok(c, "SELECT", err, errlen, "SELECT %d", u.db))) {
        redisFree(c);
        return NULL;
    }
    return c;
}

int redisx_ensure(redisContext **c, const char *url, int timeout_ms)
{
    if (*c && !(*c)->err) {
        redisReply *r = redisCommand(*c, "PING");
        int ok = r && r->type != REDIS_REPLY_ERROR;
        freeReplyObject(r);
        if (ok) return 1;
    }
    redisFree(*c);
    char err[256];
    *c = redisx_connect(url, timeout_ms, err, sizeof(err));
    return *c != NULL;
}
