// What the thread sanitizer is told to ignore in the test binary: one report
// that comes from the Swift runtime, not from GoConcurrency.
//
// When a continuation is resumed from another thread before the waiting task
// has finished suspending (a timer fired by a spinning processor can do that
// within a microsecond), the task does not suspend at all: the runtime sees the
// continuation already resumed and carries on. That hand-over is an atomic in
// the uninstrumented Swift runtime, which tells the sanitizer nothing on this
// path, so the sanitizer reports the task's next write to its own async frame
// (in the standard library's `withUnsafeContinuation`, after the await) as
// racing with the resumer's read of that frame in `resume`. The suppression
// names exactly that resumption function of `withUnsafeContinuation` for Void
// results; every other report still shows.
//
// The sanitizer calls this hook while it starts, before anything else runs,
// so the hook itself must not be instrumented (hence C, not Swift).

__attribute__((no_sanitize("thread"), visibility("default"), used))
const char *__tsan_default_suppressions(void) {
    return "race:withUnsafeContinuation9isolation_xScA_pSgYi_ySccyxs5NeverOGXEtYalFTY0_\n";
}
