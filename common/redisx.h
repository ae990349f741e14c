/* Redis connection helper shared by the backend and the pipeline. */
#ifndef PS_REDISX_H
#define PS_REDISX_H

#include <hiredis/hiredis.h>

/* Connects to redis://[:password@]host[:port][/db] with `timeout_ms` for connect and commands.
 * Returns NULL with the reason in err. Caller frees with redisFree(). */
redisContext *redisx_connect(const char *url, int timeout_ms, char *err, size_t errlen);
/* 1 when `*c` answers PING; reconnects once when it does not. */
int redisx_ensure(redisContext **c, const char *url, int timeout_ms);

#endif
