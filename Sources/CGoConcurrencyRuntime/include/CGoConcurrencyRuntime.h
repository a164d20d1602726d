// Four of the Swift concurrency runtime's own entry points, called directly
// from GoConcurrency's park path and from the task that runs goroutines (see
// SwiftRuntimeABI.swift, assumptions 4, 8 and 9, for what is assumed of them
// and how it is verified). Declared here,
// in C, because Swift reserves these names to its runtime: the compiler
// warns at a Swift declaration of them. Both use Swift's calling convention,
// as the runtime defines them; the inline wrappers are plain C functions
// that Swift calls, and that inline into their callers.
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
