// The hand-over from a task's resumer to the task, told to the thread
// sanitizer. Compiled to nothing unless the build has the sanitizer.
//
// A task that parks in GoConcurrency waits on a continuation; another thread
// resumes it. When the task has suspended, the resume queues it on an
// executor and the sanitizer sees the queue's synchronisation. When the
// resume comes first (a partner or a timer can be that quick), the task does
// not suspend at all: the Swift runtime sees the continuation already resumed
// and the task carries on, and that check is an atomic inside the runtime,
// which is not instrumented. The sanitizer then knows of no order between the
// resumer and the task, and reports what the program ordered correctly: a
// mutex handed to a waiter, a value handed over a channel, the task's own
// frame, which the resume wrote into.
//
// So, under the sanitizer:
// - every resume from this program goes through the functions below, which
//   release the task's address to the sanitizer and then resume. They are
//   the program's own definitions of the runtime's entry points, so the
//   program's calls come here; the runtime's are found with RTLD_NEXT. The
//   release comes after everything the resumer did, including what the
//   inlined `resume` wrote into the task's frame just before the call.
// - the task acquires its own address when its park returns
//   (goconcurrency_sanitizer_resumed, called by Parking.park), before it
//   touches anything the resumer handed over, and before its next park sets
//   up a continuation in the same frame.
// The definitions are weak: a program that links the Swift runtime
// statically (-static-stdlib) gets the runtime's own, and with them no
// hand-over annotation. On Darwin they are left out (untested there).

#if defined(__linux__)
#define _GNU_SOURCE
#endif

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GOCONCURRENCY_THREAD_SANITIZER 1
#endif
#endif

#if GOCONCURRENCY_THREAD_SANITIZER

#if defined(__linux__)
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

void __tsan_release(void *address);

#define SWIFT_CALL __attribute__((swiftcall))
#define RUNTIME_ENTRY __attribute__((swiftcall, weak, visibility("default")))

typedef SWIFT_CALL void (*Resume)(void *task);
typedef SWIFT_CALL void (*ResumeWithError)(void *task, void *error);

static void *runtimeEntry(_Atomic(void *) *cache, const char *name) {
    void *entry = atomic_load_explicit(cache, memory_order_acquire);
    if (entry == 0) {
        entry = dlsym(RTLD_NEXT, name);
        if (entry == 0) {
            // No later definition: the runtime is not a shared library after
            // all (or renamed the entry). Calling through null would crash
            // somewhere unrelated; say what is missing instead.
            fprintf(stderr, "GoConcurrency: the Swift runtime's %s was not found (dlsym: %s)\n", name, dlerror());
            abort();
        }
        atomic_store_explicit(cache, entry, memory_order_release);
    }
    return entry;
}

static _Atomic(void *) resumeEntry, throwingResumeEntry, throwingResumeWithErrorEntry;

RUNTIME_ENTRY void swift_continuation_resume(void *task) {
    __tsan_release(task);
    ((Resume)runtimeEntry(&resumeEntry, "swift_continuation_resume"))(task);
}

RUNTIME_ENTRY void swift_continuation_throwingResume(void *task) {
    __tsan_release(task);
    ((Resume)runtimeEntry(&throwingResumeEntry, "swift_continuation_throwingResume"))(task);
}

RUNTIME_ENTRY void swift_continuation_throwingResumeWithError(void *task, void *error) {
    __tsan_release(task);
    ((ResumeWithError)runtimeEntry(&throwingResumeWithErrorEntry, "swift_continuation_throwingResumeWithError"))(task, error);
}
#endif  // __linux__

#endif  // GOCONCURRENCY_THREAD_SANITIZER
