// Four of the Swift concurrency runtime's own entry points, called directly
// from GoConcurrency's park path and from the task that runs goroutines (see
// SwiftRuntimeABI.swift, assumptions 4, 8 and 9, for what is assumed of them
// and how it is verified). Declared here,
// in C, because Swift reserves these names to its runtime: the compiler
// warns at a Swift declaration of them. All use Swift's calling convention,
// as the runtime defines them; the inline wrappers are plain C functions
// that Swift calls, and that inline into their callers.
//
// Also here: the goroutine binding's published key, and two thread-local
// slots of GoConcurrency's own, which Swift cannot declare (it has no
// thread-local storage): the calling thread's processor, read on every
// enqueue from a worker thread (a load, where `pthread_getspecific` cost a
// call of about 17 instructions), and a thread's spare select waiter.
#pragma once

#include <stdatomic.h>

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

/// Binds the value at `value` (moved out of it: the binding takes it) of
/// type `valueType` (its type metadata) to the task-local `key`, on the
/// calling task, until the matching pop.
extern void swift_task_localValuePush(const void *key, void *value, const void *valueType) GOCONCURRENCY_SWIFTCALL;

/// Ends the calling task's innermost task-local binding, destroying its value.
extern void swift_task_localValuePop(void) GOCONCURRENCY_SWIFTCALL;

/// The key of the task-local that names a task's goroutine
/// (`Goroutine.binding`), published before the first binding of it; null
/// until then. A plain word, so that reading it costs a load where the key's
/// Swift global would cost a `swift_once` call on every park.
extern _Atomic(const void *) goconcurrency_goroutine_binding_key;

/// The calling task's address, retaining nothing; null outside a task.
static inline const void *goconcurrency_current_task(void) {
    return swift_task_getCurrent();
}

/// The storage of the value bound to the task-local object at `key`; null
/// where none is bound.
static inline const void *goconcurrency_task_local_value(const void *key) {
    return swift_task_localValueGet(key);
}

/// Binds the value at `value` (moved into the binding) to the task-local
/// object at `key`.
static inline void goconcurrency_task_local_push(const void *key, void *value, const void *valueType) {
    swift_task_localValuePush(key, value, valueType);
}

/// Ends the innermost binding of the calling task.
static inline void goconcurrency_task_local_pop(void) {
    swift_task_localValuePop();
}

/// The published key of the goroutine binding; null before its first binding.
static inline const void *goconcurrency_goroutine_key(void) {
    return atomic_load_explicit(&goconcurrency_goroutine_binding_key, memory_order_relaxed);
}

/// Publishes the key of the goroutine binding (always the same value). A
/// task that finds a binding under it was bound after the key was published
/// by the same task, or copied the binding from one that was: task starts and
/// resumptions order the two, so relaxed accesses suffice.
static inline void goconcurrency_publish_goroutine_key(const void *key) {
    atomic_store_explicit(&goconcurrency_goroutine_binding_key, key, memory_order_relaxed);
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
