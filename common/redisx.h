/* Redis connection helper shared by the backend and the pipeline: one target string names either one
 * server or a master found through Redis Sentinel, so every program follows a failover alike. */
#ifndef PS_REDISX_H
#define PS_REDISX_H

#include <hiredis/hiredis.h>

/* Connects to the target `url` with `timeout_ms` for connect and commands. The target is either
 *   redis://[:password@]host[:port][/db]                       one server, or
 *   redis+sentinel://[:password@]h1:p1,h2:p2,.../master[/db]   the master named `master`, asked of each
 *     sentinel in turn (SENTINEL get-master-addr-by-name) and accepted only when its ROLE says master
 *     (a sentinel may still name a demoted master during a failover); the password is the master's
 *     (sentinels are asked without one).
 * Returns NULL with the reason in err. Caller frees with redisFree(). Any thread. */
redisContext *redisx_connect(const char *url, int timeout_ms, char *err, size_t errlen);
/* 1 when `*c` answers (PING; for a Sentinel target ROLE must still say master); reconnects once when it
 * does not. *reconnected (when not NULL) is set to 1 when a new connection was made: what the old one
 * held may be gone (a failover loses the writes not yet replicated). */
int redisx_ensure_fresh(redisContext **c, const char *url, int timeout_ms, int *reconnected);
/* redisx_ensure_fresh() without the flag. */
int redisx_ensure(redisContext **c, const char *url, int timeout_ms);
/* Marks `c` broken when reply `r` says the server cannot take writes (READONLY: a demoted master;
 * MASTERDOWN; LOADING), so the caller's next redisx_ensure() or reconnect check makes a new connection to
 * the current master. Returns 1 when `r` is NULL or such an error, else 0. */
int redisx_reply_failed(redisContext *c, const redisReply *r);

#endif
