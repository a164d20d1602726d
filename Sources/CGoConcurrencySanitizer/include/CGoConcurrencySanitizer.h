// What the thread sanitizer needs to know about GoConcurrency's hand-overs
// (see handover.c). Nothing here does anything in a build without the
// sanitizer: the sanitizer's entry point is declared weak, so there it is
// null and the check below is one load and a branch not taken.
#pragma once

extern void __tsan_acquire(void *address) __attribute__((weak));

/// Tells the sanitizer that the task at `task` was resumed: what its resumer
/// did before `resume` happened before what the task does next. Called by a
/// task when its park returns.
static inline void goconcurrency_sanitizer_resumed(const void *task) {
    if (__tsan_acquire != 0) {
        __tsan_acquire((void *)task);
    }
}
