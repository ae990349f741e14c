/* A TCP proxy for outage tests: forwards a loopback port to a real server (PostgreSQL, Redis) and can
 * be cut (every connection closed, new ones refused) and restored, without touching the server. */
#ifndef PS_TS_PROXY_H
#define PS_TS_PROXY_H

typedef struct ts_proxy ts_proxy_t;

/* Starts forwarding a free loopback port to 127.0.0.1:target_port. */
ts_proxy_t *ts_proxy_start(int target_port);
int ts_proxy_port(const ts_proxy_t *p);
/* Cuts: closes every open connection and refuses new ones until ts_proxy_restore(). */
void ts_proxy_cut(ts_proxy_t *p);
void ts_proxy_restore(ts_proxy_t *p);
void ts_proxy_stop(ts_proxy_t *p);
/* Port of a URL like postgresql://u@127.0.0.1:5432/db or redis://127.0.0.1:6379/0. */
int ts_url_port(const char *url);

#endif
