// Two of the Swift concurrency runtime's own entry points, called directly
// from GoConcurrency's park path (see SwiftRuntimeABI.swift, assumptions 4
// and 8, for what is assumed of them and how it is verified). Declared here,
// in C, because Swift reserves these names to its runtime: the compiler
// warns at a Swift declaration of them. Both use Swift's calling convention,
// as the runtime defines them; the inline wrappers are plain C functions
// that Swift calls, and that inline into their callers.
//
// Also here: two thread-local slots of GoConcurrency's own, which Swift
// cannot declare (it has no thread-local storage): the calling thread's
// processor, read on every enqueue from a worker thread (a load, where
// `pthread_getspecific` cost a call of about 17 instructions), and a
// thread's spare select waiter.
#pragma once

#if defined(__has_attribute) && __has_attribute(swiftcall)
#define GOCONCURRENCY_SWIFTCALL __attribute__((swiftcall))
#else
#define GOCONCURRENCY_SWIFTCALL
#endif

/// The task running on the calling thread, unretained; null outside a task.
extern void *swift_task_getCurrent(void) GOCONCURRENCY_SWIFTCALL;

/// Where the value bound to the task-local `key` is stored, for the calling
/// task (or the thread, outside a task); null where none is bound.
extern void *swift_task_localValueGet(const void *key) GOCONCURRENCY_SWIFTCALL;

/// The calling task's address, retaining nothing; null outside a task.
static inline const void *goconcurrency_current_task(void) {
    return swift_task_getCurrent();
}

/// The storage of the value bound to the task-local object at `key`; null
/// where none is bound.
static inline const void *goconcurrency_task_local_value(const void *key) {
    return swift_task_localValueGet(key);
}

/// The processor (an unretained `Processor`) whose worker thread is the
/// calling thread, or null. Initial-exec: the package is linked into the
/// program, never loaded late, so the slot is at a fixed offset from the
/// thread pointer.
extern __thread void *goconcurrency_processor_slot __attribute__((tls_model("initial-exec")));

static inline void *goconcurrency_current_processor(void) {
    return goconcurrency_processor_slot;
}

static inline void goconcurrency_set_current_processor(void *processor) {
    goconcurrency_processor_slot = processor;
}

/// The calling thread's spare select waiter (a retained `Waiter`), or null:
/// a select that parks takes it rather than allocating one, and gives its
/// waiter back here once nothing else refers to it (`Waiter.forSelect`,
/// `Waiter.recycle`). Only the thread's running code touches its slot.
extern __thread void *goconcurrency_spare_waiter;

/// Takes the calling thread's spare waiter (null if it has none).
static inline void *goconcurrency_take_spare_waiter(void) {
    void *waiter = goconcurrency_spare_waiter;
    goconcurrency_spare_waiter = 0;
    return waiter;
}

/// Whether the calling thread has no spare waiter.
static inline int goconcurrency_has_no_spare_waiter(void) {
    return goconcurrency_spare_waiter == 0;
}

/// Makes `waiter` the calling thread's spare (which it has none of).
static inline void goconcurrency_keep_spare_waiter(void *waiter) {
    goconcurrency_spare_waiter = waiter;
}
