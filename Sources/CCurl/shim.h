#ifndef MARSHAL_CCURL_SHIM_H
#define MARSHAL_CCURL_SHIM_H
// curl_easy_setopt, curl_easy_getinfo and curl_multi_setopt are variadic: Swift cannot call them.
// These typed inline shims fix the argument type per option family (see curl_easy_setopt(3):
// long, char *, void *, struct curl_slist *, curl_off_t, function pointer).
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <string.h>
#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

static inline const char *marshal_curl_version(void) { return curl_version(); }

// Macros Swift does not import as constants.
static const long MARSHAL_CURL_GLOBAL_DEFAULT = CURL_GLOBAL_DEFAULT;
static const int MARSHAL_CURL_ERROR_SIZE = CURL_ERROR_SIZE;

static inline CURLcode marshal_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode marshal_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode marshal_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode marshal_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode marshal_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode marshal_easy_setopt_write_function(CURL *handle, CURLoption option, curl_write_callback value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode marshal_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLcode marshal_easy_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLcode marshal_easy_getinfo_pointer(CURL *handle, CURLINFO info, char **value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLcode marshal_easy_getinfo_socket(CURL *handle, curl_socket_t *value) {
    return curl_easy_getinfo(handle, CURLINFO_ACTIVESOCKET, value);
}

static inline CURLMcode marshal_multi_setopt_long(CURLM *multi, CURLMoption option, long value) {
    return curl_multi_setopt(multi, option, value);
}
static inline CURLMcode marshal_multi_setopt_pointer(CURLM *multi, CURLMoption option, void *value) {
    return curl_multi_setopt(multi, option, value);
}
static inline CURLMcode marshal_multi_setopt_socket_function(CURLM *multi, curl_socket_callback value) {
    return curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, value);
}
static inline CURLMcode marshal_multi_setopt_timer_function(CURLM *multi, curl_multi_timer_callback value) {
    return curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, value);
}
static const curl_socket_t MARSHAL_CURL_SOCKET_TIMEOUT = CURL_SOCKET_TIMEOUT;
static const curl_socket_t MARSHAL_CURL_SOCKET_BAD = CURL_SOCKET_BAD;
static inline CURLcode marshal_easy_setopt_opensocket_function(CURL *handle, curl_opensocket_callback value) {
    return curl_easy_setopt(handle, CURLOPT_OPENSOCKETFUNCTION, value);
}
/// What libcurl's default CURLOPT_OPENSOCKETFUNCTION does, plus close-on-exec, so a child process
/// forked elsewhere in Marshal never holds a load-test socket (and its epoll registration) open.
static inline curl_socket_t marshal_open_socket(struct curl_sockaddr *address) {
    return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

// A plain-HTTP load connection's socket is taken from libcurl once connected and read and
// written directly: curl_easy_send/recv look the connection up in the multi handle's cache on
// every call (Curl_getconnectinfo), a cost that grows with the number of connections.
static inline CURLcode marshal_easy_setopt_closesocket_function(CURL *handle, curl_closesocket_callback value) {
    return curl_easy_setopt(handle, CURLOPT_CLOSESOCKETFUNCTION, value);
}
/// send(2) without SIGPIPE; -1 with errno on failure.
static inline long marshal_socket_send(int fd, const void *bytes, size_t length) {
    return (long)send(fd, bytes, length, MSG_NOSIGNAL);
}
static inline long marshal_socket_recv(int fd, void *bytes, size_t length) {
    return (long)recv(fd, bytes, length, 0);
}
/// Asks the kernel to stamp what the socket receives with its arrival time (SO_TIMESTAMPNS).
static inline int marshal_socket_stamp_arrivals(int fd) {
    int on = 1;
    return setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
}
/// recv that also gives the kernel's arrival time of the last data read (CLOCK_REALTIME
/// nanoseconds), or 0 when the socket does not stamp arrivals (see marshal_socket_stamp_arrivals).
static inline long marshal_socket_recv_stamped(int fd, void *bytes, size_t length, long long *stamp) {
    struct iovec iov = { bytes, length };
    union { char buffer[CMSG_SPACE(sizeof(struct timespec))]; struct cmsghdr align; } control;
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_control = control.buffer;
    message.msg_controllen = sizeof control.buffer;
    long count = (long)recvmsg(fd, &message, 0);
    *stamp = 0;
    if (count > 0) {
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&message); c != NULL; c = CMSG_NXTHDR(&message, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
                struct timespec ts;
                memcpy(&ts, CMSG_DATA(c), sizeof ts);
                *stamp = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
            }
        }
    }
    return count;
}
/// Sleeps until `deadline_ns` on CLOCK_MONOTONIC (absolute), however often signals interrupt it.
static inline void marshal_sleep_until_ns(unsigned long long deadline_ns) {
    struct timespec ts = { (time_t)(deadline_ns / 1000000000ULL), (long)(deadline_ns % 1000000000ULL) };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {}
}
static inline int marshal_errno(void) { return errno; }
static inline int marshal_would_block(int code) { return code == EAGAIN || code == EWOULDBLOCK || code == EINTR; }
/// True when the socket is connected to itself: a connect to a port nothing listens on in the
/// ephemeral range can be given that same port as its own and succeed (TCP simultaneous open).
static inline int marshal_socket_self_connected(int fd) {
    struct sockaddr_storage local, peer;
    socklen_t localLength = sizeof local, peerLength = sizeof peer;
    if (getsockname(fd, (struct sockaddr *)&local, &localLength) != 0) return 0;
    if (getpeername(fd, (struct sockaddr *)&peer, &peerLength) != 0) return 0;
    return localLength == peerLength && memcmp(&local, &peer, localLength) == 0;
}

// A monotonic timer descriptor the load generator passes to curl_multi_poll as an extra fd, so a
// planned send wakes the poll at the right microsecond instead of at millisecond granularity.
#include <sys/timerfd.h>
#include <unistd.h>

static inline int marshal_timerfd_create(void) {
    return timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
}
/// Arms the timer to fire once at `nanos` on CLOCK_MONOTONIC (absolute); 0 disarms it.
static inline int marshal_timerfd_arm(int fd, unsigned long long nanos) {
    struct itimerspec spec = {0};
    spec.it_value.tv_sec = (time_t)(nanos / 1000000000ULL);
    spec.it_value.tv_nsec = (long)(nanos % 1000000000ULL);
    return timerfd_settime(fd, TFD_TIMER_ABSTIME, &spec, NULL);
}
static inline void marshal_timerfd_drain(int fd) {
    unsigned long long expirations;
    (void)!read(fd, &expirations, sizeof expirations);
}

// epoll for curl_multi_socket_action (curl's "multi_socket" API, see curl_multi_socket_action(3)):
// only sockets with activity are touched, where curl_multi_perform scans every transfer.
// struct epoll_event is packed on x86-64, so it stays on the C side.
#include <sys/epoll.h>
#include <time.h>
#include <errno.h>

static inline int marshal_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

/// Watches `fd` for `events` (EPOLLIN/EPOLLOUT). `known` says the caller believes it is in the
/// set already (MOD first); either way a wrong belief is corrected with the other operation.
static inline int marshal_epoll_watch(int epfd, int fd, unsigned int events, int known) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = 0;
    ev.data.fd = fd;
    if (known) {
        int r = epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
        if (r != 0 && errno == ENOENT) r = epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
        return r;
    }
    int r = epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
    if (r != 0 && errno == EEXIST) r = epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
    return r;
}
static inline int marshal_epoll_unwatch(int epfd, int fd) { return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL); }

/// epoll_wait, unpacked into parallel arrays of descriptors and event bits (at most 64).
static inline int marshal_epoll_wait(int epfd, int *fds, unsigned int *events, int max, int timeout_ms) {
    struct epoll_event evs[64];
    if (max > 64) max = 64;
    int n = epoll_wait(epfd, evs, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        fds[i] = evs[i].data.fd;
        events[i] = evs[i].events;
    }
    return n;
}
/// As marshal_epoll_wait, with a timeout in nanoseconds (negative: none) through epoll_pwait2
/// (Linux 5.11): the open loop's next planned send ends the wait on time with no timer
/// descriptor to re-arm per send. Falls back to epoll_wait, rounding up to a millisecond.
static inline int marshal_epoll_wait_ns(int epfd, int *fds, unsigned int *events, int max, long long timeout_ns) {
    struct epoll_event evs[64];
    if (max > 64) max = 64;
    static int unsupported = 0;
    int n;
    if (!unsupported) {
        struct timespec ts = { (time_t)(timeout_ns / 1000000000LL), (long)(timeout_ns % 1000000000LL) };
        n = epoll_pwait2(epfd, evs, max, timeout_ns < 0 ? NULL : &ts, NULL);
        if (n < 0 && errno == ENOSYS) unsupported = 1;
    }
    if (unsupported) {
        int ms = timeout_ns < 0 ? -1 : (int)((timeout_ns + 999999LL) / 1000000LL);
        n = epoll_wait(epfd, evs, max, ms);
    }
    for (int i = 0; i < n; i++) {
        fds[i] = evs[i].data.fd;
        events[i] = evs[i].events;
    }
    return n;
}
static const unsigned int MARSHAL_EPOLLIN = EPOLLIN;
static const unsigned int MARSHAL_EPOLLOUT = EPOLLOUT;
static const unsigned int MARSHAL_EPOLLERR = EPOLLERR | EPOLLHUP;
#endif
