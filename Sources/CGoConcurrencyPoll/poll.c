// See include/CGoConcurrencyPoll.h.
#if defined(__linux__)
#define _GNU_SOURCE
#include "CGoConcurrencyPoll.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

const uint32_t goconcurrency_poll_in = EPOLLIN;
const uint32_t goconcurrency_poll_out = EPOLLOUT;
const uint32_t goconcurrency_poll_rdhup = EPOLLRDHUP;
const uint32_t goconcurrency_poll_pri = EPOLLPRI;
const uint32_t goconcurrency_poll_err = EPOLLERR;
const uint32_t goconcurrency_poll_hup = EPOLLHUP;
const uint32_t goconcurrency_poll_edge = EPOLLET;
const int goconcurrency_sock_nonblock = SOCK_NONBLOCK;
const int goconcurrency_sock_cloexec = SOCK_CLOEXEC;

int goconcurrency_epoll_create(void) {
    return epoll_create1(EPOLL_CLOEXEC);
}

int goconcurrency_epoll_add(int epoll, int fd, uint32_t events, uint64_t tag) {
    struct epoll_event event = { .events = events, .data = { .u64 = tag } };
    return epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
}

int goconcurrency_epoll_remove(int epoll, int fd) {
    struct epoll_event unused = { 0 };
    return epoll_ctl(epoll, EPOLL_CTL_DEL, fd, &unused);
}

// Set once the kernel answered ENOSYS to epoll_pwait2.
static atomic_int no_pwait2;

#define BATCH 128

int goconcurrency_epoll_wait(int epoll, goconcurrency_poll_event *events, int capacity, int64_t timeout_ns) {
    struct epoll_event raw[BATCH];
    if (capacity > BATCH) capacity = BATCH;
    int count = -1;
    int fallback = 1;
#if defined(SYS_epoll_pwait2)
    if (!atomic_load_explicit(&no_pwait2, memory_order_relaxed)) {
        struct timespec timeout;
        struct timespec *until = NULL;
        if (timeout_ns >= 0) {
            timeout.tv_sec = (time_t)(timeout_ns / 1000000000);
            timeout.tv_nsec = (long)(timeout_ns % 1000000000);
            until = &timeout;
        }
        count = (int)syscall(SYS_epoll_pwait2, epoll, raw, capacity, until, NULL, (size_t)(_NSIG / 8));
        fallback = 0;
        // Any refusal but an interruption means this process cannot use it:
        // ENOSYS on an old kernel, EPERM (or another errno) from a seccomp
        // filter (container runtimes, systemd's SystemCallFilter=). From then
        // on epoll_wait, with its millisecond timeouts rounded up. (Treating
        // such an error as a timeout left the poller delivering nothing.)
        if (count < 0 && errno != EINTR) {
            atomic_store_explicit(&no_pwait2, 1, memory_order_relaxed);
            fallback = 1;
        }
    }
#endif
    if (fallback) {
        int milliseconds = -1;
        if (timeout_ns >= 0) {
            int64_t rounded = (timeout_ns + 999999) / 1000000;
            milliseconds = rounded > 0x7fffffff ? 0x7fffffff : (int)rounded;
        }
        count = epoll_wait(epoll, raw, capacity, milliseconds);
    }
    if (count < 0) return -errno;
    for (int index = 0; index < count; index++) {
        events[index].events = raw[index].events;
        events[index].tag = raw[index].data.u64;
    }
    return count;
}

int goconcurrency_eventfd(void) {
    return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

int goconcurrency_eventfd_signal(int fd) {
    uint64_t one = 1;
    return write(fd, &one, sizeof one) == sizeof one ? 0 : -1;
}

int goconcurrency_eventfd_drain(int fd) {
    uint64_t value;
    return read(fd, &value, sizeof value) == sizeof value ? 0 : -1;
}

int goconcurrency_accept4(int fd, struct sockaddr *address, socklen_t *length, int flags) {
    return accept4(fd, address, length, flags);
}

#endif
