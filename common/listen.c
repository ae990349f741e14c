/* Listening sockets on an IPv4 or IPv6 literal address (see listen.h). */
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Fills `ss` from a literal address and a port; returns its length, or 0 when `addr` is no literal. */
static socklen_t sockaddr_of(const char *addr, int port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        return sizeof(*in4);
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        return sizeof(*in6);
    }
    return 0;
}

int listen_addr_check(const char *addr)
{
    struct sockaddr_storage ss;
    return addr != NULL && sockaddr_of(addr, 0, &ss) != 0 ? 0 : -1;
}

int listen_open(const char *addr, int port, char *err, size_t errlen)
{
    if (addr == NULL) addr = LISTEN_DEFAULT_ADDR;
    struct sockaddr_storage ss;
    socklen_t len = sockaddr_of(addr, port, &ss);
    if (len == 0) {
        snprintf(err, errlen, "bind address \"%s\" is not an IPv4 or IPv6 literal", addr);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0) {
        snprintf(err, errlen, "socket for %s port %d: %s", addr, port, strerror(errno));
        return -1;
    }
    /* SO_REUSEADDR only forgives connections left in TIME_WAIT; without SO_REUSEPORT the bind itself
     * fails while anyone listens there, with no window between a check and the bind */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, SOMAXCONN) != 0) {
        snprintf(err, errlen, "cannot listen on %s port %d: %s", addr, port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}
