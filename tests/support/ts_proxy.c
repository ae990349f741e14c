/* Poll-based TCP proxy in one thread (see ts_proxy.h). */
#include "ts_proxy.h"
#include "ts.h"

#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PAIRS 256

struct ts_proxy {
    int listen_fd, port, target_port;
    int pairs[MAX_PAIRS][2];
    int npairs;
    atomic_int cut, stopping, cut_pending;
    pthread_t tid;
};

static void close_all(ts_proxy_t *p)
{
    for (int i = 0; i < p->npairs; i++) {
        close(p->pairs[i][0]);
        close(p->pairs[i][1]);
    }
    p->npairs = 0;
}

static void *proxy_main(void *arg)
{
    ts_proxy_t *p = arg;
    struct pollfd fds[1 + 2 * MAX_PAIRS];
    char buf[65536];
    while (!atomic_load(&p->stopping)) {
        if (atomic_exchange(&p->cut_pending, 0)) close_all(p);
        int n = 0;
        fds[n].fd = p->listen_fd;
        fds[n++].events = POLLIN;
        for (int i = 0; i < p->npairs; i++) {
            fds[n].fd = p->pairs[i][0];
            fds[n++].events = POLLIN;
            fds[n].fd = p->pairs[i][1];
            fds[n++].events = POLLIN;
        }
        if (poll(fds, (nfds_t)n, 50) <= 0) continue;
        int polled = p->npairs; /* a pair accepted below was not polled: leave it for the next round */
        if (fds[0].revents & POLLIN) {
            int c = accept(p->listen_fd, NULL, NULL);
            if (c >= 0) {
                int t = atomic_load(&p->cut) || p->npairs == MAX_PAIRS ? -1 : ts_connect(p->target_port);
                if (t < 0) {
                    close(c);
                } else {
                    p->pairs[p->npairs][0] = c;
                    p->pairs[p->npairs][1] = t;
                    p->npairs++;
                }
            }
        }
        for (int i = polled - 1; i >= 0; i--) {
            int dead = 0;
            for (int side = 0; side < 2 && !dead; side++) {
                struct pollfd *f = &fds[1 + 2 * i + side];
                if (!(f->revents & (POLLIN | POLLHUP | POLLERR))) continue;
                ssize_t k = read(p->pairs[i][side], buf, sizeof(buf));
                if (k <= 0) {
                    dead = 1;
                    break;
                }
                ssize_t off = 0;
                while (off < k) {
                    ssize_t w = write(p->pairs[i][1 - side], buf + off, (size_t)(k - off));
                    if (w <= 0) {
                        dead = 1;
                        break;
                    }
                    off += w;
                }
            }
            if (dead) {
                close(p->pairs[i][0]);
                close(p->pairs[i][1]);
                p->pairs[i][0] = p->pairs[p->npairs - 1][0];
                p->pairs[i][1] = p->pairs[p->npairs - 1][1];
                p->npairs--;
                break; /* fds no longer line up with pairs: poll again */
            }
        }
    }
    close_all(p);
    return NULL;
}

ts_proxy_t *ts_proxy_start(int target_port)
{
    ts_proxy_t *p = calloc(1, sizeof(*p));
    p->target_port = target_port;
    p->listen_fd = ts_listen(0);
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    getsockname(p->listen_fd, (struct sockaddr *)&a, &len);
    p->port = ntohs(a.sin_port);
    pthread_create(&p->tid, NULL, proxy_main, p);
    return p;
}

int ts_proxy_port(const ts_proxy_t *p)
{
    return p->port;
}

void ts_proxy_cut(ts_proxy_t *p)
{
    atomic_store(&p->cut, 1);
    atomic_store(&p->cut_pending, 1);
    usleep(200 * 1000);
}

void ts_proxy_restore(ts_proxy_t *p)
{
    atomic_store(&p->cut, 0);
}

void ts_proxy_stop(ts_proxy_t *p)
{
    atomic_store(&p->stopping, 1);
    pthread_join(p->tid, NULL);
    close(p->listen_fd);
    free(p);
}

int ts_url_port(const char *url)
{
    const char *at = strrchr(url, '@');
    const char *host = at ? at + 1 : strstr(url, "://") + 3;
    const char *colon = strchr(host, ':');
    return colon ? atoi(colon + 1) : 0;
}
