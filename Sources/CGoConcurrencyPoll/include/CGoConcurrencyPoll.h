// The system calls of GoConcurrency's network poller that the Swift Glibc
// module does not expose in a usable form: epoll (whose event structure is
// packed on x86-64), eventfd, and accept4 with the socket flags it takes.
// Linux only: on other systems this header declares nothing, and the poller
// is not built (see Poller.swift).
#ifndef CGOCONCURRENCYPOLL_H
#define CGOCONCURRENCYPOLL_H

#include <stdint.h>

#if defined(__linux__)
#include <sys/socket.h>

/// One readiness event, unpacked: the epoll event bits and the tag the
/// descriptor was registered with.
typedef struct {
    uint32_t events;
    uint64_t tag;
} goconcurrency_poll_event;

/// Readiness bits (EPOLLIN, ...), for Swift.
extern const uint32_t goconcurrency_poll_in;
extern const uint32_t goconcurrency_poll_out;
extern const uint32_t goconcurrency_poll_rdhup;
extern const uint32_t goconcurrency_poll_pri;
extern const uint32_t goconcurrency_poll_err;
extern const uint32_t goconcurrency_poll_hup;
extern const uint32_t goconcurrency_poll_edge;

/// accept4's and socket's flags, which Glibc's module imports as members of
/// an enumeration.
extern const int goconcurrency_sock_nonblock;
extern const int goconcurrency_sock_cloexec;

/// epoll_create1(EPOLL_CLOEXEC): the epoll descriptor, or -1 with errno set.
int goconcurrency_epoll_create(void);

/// epoll_ctl(ADD) with `events` and `tag` as the event's data: 0, or -1 with errno.
int goconcurrency_epoll_add(int epoll, int fd, uint32_t events, uint64_t tag);

/// epoll_ctl(DEL): 0, or -1 with errno.
int goconcurrency_epoll_remove(int epoll, int fd);

/// Waits for at most `capacity` events: `timeout_ns` < 0 waits until an event,
/// 0 returns at once, otherwise waits at most that many nanoseconds
/// (epoll_pwait2, to the nanosecond; where the kernel lacks it or a seccomp
/// filter refuses it, epoll_wait rounded up to the next millisecond, so never
/// early). Returns the number of events, 0 on timeout, or -errno (-EINTR
/// when a signal interrupted the wait).
int goconcurrency_epoll_wait(int epoll, goconcurrency_poll_event *events, int capacity, int64_t timeout_ns);

/// eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC): the descriptor, or -1 with errno.
int goconcurrency_eventfd(void);

/// Adds 1 to an eventfd's counter (makes it readable): 0, or -1 with errno.
int goconcurrency_eventfd_signal(int fd);

/// Reads an eventfd's counter back to 0: 0, or -1 with errno (EAGAIN if it was 0).
int goconcurrency_eventfd_drain(int fd);

/// accept4(2).
int goconcurrency_accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);

#endif
#endif
