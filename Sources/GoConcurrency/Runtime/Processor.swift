// A logical processor (Go's P) and the worker thread that runs it: its
// state, here, and its work by concern, each in a file of its own:
// `ProcessorRunLoop` (the scheduling loop and starting goroutines),
// `ProcessorQueues` (runnext, the local queue, where it looks for work, and
// stealing), `ProcessorIdle` (spinning, napping, parking, the timer
// sleeper), `ProcessorHandOff` (blocking calls, GOMAXPROCS going down, a
// runtime ending).
//
// Invariants:
// - `runningJob` and `tick` are touched only by the owner thread. `runnext` is
//   one atomic word, a `Runnable` (a job, or a goroutine with no task yet):
//   only the owner puts an entry there (an exchange), the owner takes it (an
//   exchange), and a thief may take it (a compare-and-swap) only when thieves
//   have seen the same entry waiting there for the grace period, across two
//   steal attempts, while the owner ran no other job (`scheduled`
//   unchanged): the owner is stuck in one long job (Go gives runnext the same
//   grace). So the hand-off of a ping-pong pair takes no lock and is never
//   stolen. What thieves saw is `runnextWatch`, under its own lock, which
//   only thieves take: one record per processor, however many there are.
// - `local` (the local queue) is a lock-free ring (see `LocalRunQueue`): the
//   owner puts and takes, other processors steal half of it.
// - `parker` is a permit: `wake` sets it, `park` waits for it and clears it;
//   a wake that finds the processor running just leaves a permit, and the next
//   park returns at once and looks for work again. A spinner's nap is a park
//   with a deadline: it consumes a permit, and ends early only if the wake
//   wants the processor back or retired, or a job waits in the global queue.
// - A job put in runnext is never left there while every other processor
//   sleeps: the putter wakes one if none is spinning, and a processor about
//   to park counts every processor's runnext in its last look (a spinner
//   that saw the job too early to take it looks again, after the grace).

import CGoConcurrencyRuntime
import DequeModule
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

final class Processor: @unchecked Sendable {
    let id: Int
    /// The runtime outlives its processors' use of it (it is never deinitialised
    /// while its threads run: each holds it, see `Machine`), so no reference
    /// count is touched to reach it.
    unowned(unsafe) let runtime: GoRuntime
    let runtimeReference: Unmanaged<GoRuntime>
    let local = LocalRunQueue()
    let stolen = Atomic<Int>(0)
    /// Tasks this processor made to start goroutines (the others ran on a
    /// task whose goroutine had ended), for tests.
    let tasksMade = Atomic<Int>(0)
    /// Ended goroutines' records this processor's `go` statements reused, for
    /// tests.
    let recordsReused = Atomic<Int>(0)
    /// The job that runs next: its address, or 0.
    let runnext = Atomic<UInt>(0)
    /// Whether this processor is on the runtime's idle list; changed only
    /// under `idleLock`, read without it after a wake-up (an enqueuer that
    /// popped us cleared it before waking us).
    let listedIdle = Atomic<Bool>(false)
    /// Whether a job waits in `runnext` (for the deadlock check, and for
    /// another processor's last look before it parks).
    var hasRunnext: Bool { runnext.load(ordering: .sequentiallyConsistent) != 0 }
    /// Jobs this processor has started, for thieves to tell a stuck owner.
    let scheduled = Atomic<UInt>(0)
    /// What thieves saw in this processor's runnext on their last steal
    /// attempt: (this processor's `scheduled`, the job, since when). Taken by
    /// thieves only, never by the owner.
    let runnextWatch = Locked(SeenRunnext())

    struct SeenRunnext {
        var scheduled: UInt = 0
        var job: UInt = 0
        /// When the thief first saw that job there (`Monotonic`).
        var since: UInt64 = 0
    }

    /// How long a job must wait in a busy processor's runnext before a thief
    /// takes it: long enough that a hand-off between two goroutines of one
    /// processor is never stolen. A spinning processor's nap lasts at least
    /// this long (see `spinForWork`), so its second look can take the job.
    static let runnextGraceNanoseconds: UInt64 = 20_000
    /// How many jobs in a row came from runnext.
    var runnextStreak = 0
    static let runnextTurns = 64
    /// The owner's own random sequence for picking steal victims (xorshift):
    /// a shared generator's cache line would bounce between a spinning
    /// processor and the busy ones.
    var stealRandom: UInt64
    var runningJob: UnsafeRawPointer?
    /// Set while `startGoroutine` makes a task: `putLocal` keeps the task's
    /// first job in `captured` instead of queuing it. Owner thread only.
    var capturing = false
    var captured: UnownedJob?
    /// What the scheduler chose next while a goroutine's task looked for
    /// another goroutine to run (`nextGoroutine`) and found something else:
    /// run first once that task's job returns. Owner thread only; only ever
    /// set while this processor runs a job, so never seen by an idle one.
    var handedBack: Runnable?
    /// Set when `nextGoroutine` searched and found nothing, just before the
    /// job it ran in returns: the run loop skips its own search once. Owner
    /// thread only.
    var searchedEmpty = false
    /// Set by `GoRuntime.yield` on this processor's thread: the next job put
    /// here goes to the tail of the local queue. Owner thread only.
    var yielding = false
    /// `runningJob` for other threads (goroutine snapshots): its address, or 0.
    let runningTask = Atomic<UInt>(0)
    var tick: UInt32 = 0
    let parker = ThreadParker()

    init(id: Int, runtime: GoRuntime) {
        self.id = id
        self.runtime = runtime
        self.runtimeReference = Unmanaged.passUnretained(runtime)
        self.stealRandom = FastRandom.next() | 1
    }

    /// Makes `processor` the calling thread's (nil: none), for
    /// `GoRuntime.currentProcessorReference`.
    static func setCurrent(_ processor: Processor?) {
        goconcurrency_set_current_processor(processor.map { Unmanaged.passUnretained($0).toOpaque() })
    }

    /// The processor of the calling worker thread, on whichever runtime.
    static var current: Processor? {
        Machine.current?.runtime.currentProcessor
    }

    /// Ended goroutines' records for this processor's `go` statements to
    /// reuse (see `GoroutineFreeList`). Owner thread only, so not checked for
    /// exclusive access: every `go` and every goroutine's end touches it
    /// (the checks cost four runtime calls per goroutine).
    @exclusivity(unchecked) var freeRecords: [Goroutine] = []

    /// Set while the processor sleeps retired, its queues handed on: the
    /// deadlock check's proof that a processor beyond GOMAXPROCS holds no job
    /// (one that was stealing when the count went down may hold one, on its
    /// way to the global queue, in no queue at all).
    let sleepsRetired = Atomic<Bool>(false)

    /// Set while some machine that handed this processor off wants it back.
    let takeBackRequested = Atomic<Bool>(false)

    /// Blocking calls that handed this processor off and have not taken it
    /// back yet (changed only by the thread running the processor).
    let handOffs = Atomic<Int>(0)

    /// The machines that want it back, each waiting on its parker, in the order they asked
    /// (several, when a goroutine that ran meanwhile made a blocking call too).
    /// Protected by `runtime.idleMachines`' lock.
    var returningMachines = Deque<Machine>()

    /// Ends this processor's park or nap (or leaves a permit, if it runs).
    func wake() {
        parker.unpark()
    }
}
