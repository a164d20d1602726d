// WorkerChildren: the chaos test's worker processes — `durable-worker`
// children, one per slot, each writing its log (stdout and stderr) to a
// file of its own; one killed with SIGKILL and replaced in its slot; all of
// them stopped with SIGTERM at the end. Only processes started here are ever
// signalled, by pid.
//
// Invariants:
// - `state.slots[i]` is the child last started in slot i; it is replaced
//   only by `start(slot:)` (after a kill, or after it ended on its own).
// - A pid joins `state.killed` before SIGKILL is sent to it, and
//   `state.terminated` before SIGTERM: a child that exits while in neither
//   exited on its own (`unexpectedExits`).
// - `state.exits[pid]` is set once, by `reap()` (waitpid), the only place
//   that waits for a child: each pid is reaped exactly once.
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

final class WorkerChildren: Sendable {
    /// One started process.
    struct Child: Sendable {
        let slot: Int
        /// 1 for the first process of all, counting every start.
        let number: Int
        let pid: Int32
        let log: URL
    }

    struct State {
        var slots: [Child?]
        var started: [Child] = []
        var killed: Set<Int32> = []
        var terminated: Set<Int32> = []
        var exits: [Int32: ChildExit] = [:]
    }

    let binary: URL
    let arguments: [String]
    let logDirectory: URL
    private let state: Mutex<State>

    init(binary: URL, arguments: [String], logDirectory: URL, slots: Int) {
        self.binary = binary
        self.arguments = arguments
        self.logDirectory = logDirectory
        self.state = Mutex(State(slots: Array(repeating: nil, count: slots)))
    }

    /// Starts a process in `slot` (which must be empty or hold an ended one).
    @discardableResult
    func start(slot: Int) throws -> Child {
        let number = state.withLock { $0.started.count + 1 }
        let log = logDirectory.appendingPathComponent("worker-\(number)-slot\(slot).log")
        let pid = try Spawn.start(binary.path, arguments, log: log.path)
        let child = Child(slot: slot, number: number, pid: pid, log: log)
        state.withLock { state in
            state.slots[slot] = child
            state.started.append(child)
        }
        return child
    }

    /// Reaps every child that has ended since the last call.
    func reap() {
        state.withLock { state in
            for child in state.started where state.exits[child.pid] == nil {
                if let exit = Spawn.poll(child.pid) {
                    state.exits[child.pid] = exit
                }
            }
        }
    }

    /// The child last started in `slot`.
    func child(slot: Int) -> Child? {
        state.withLock { $0.slots[slot] }
    }

    /// Every child started, in order.
    var started: [Child] { state.withLock { $0.started } }

    func exit(of pid: Int32) -> ChildExit? {
        state.withLock { $0.exits[pid] }
    }

    var killedPids: Set<Int32> { state.withLock { $0.killed } }

    /// Children that ended neither by our SIGKILL nor by our SIGTERM, with
    /// how they ended.
    var unexpectedExits: [(Child, ChildExit)] {
        reap()
        return state.withLock { state in
            state.started.compactMap { child in
                guard let exit = state.exits[child.pid], !state.killed.contains(child.pid),
                      !state.terminated.contains(child.pid) else { return nil }
                return (child, exit)
            }
        }
    }

    /// Slots whose child ended on its own (to be started again).
    var slotsEndedOnTheirOwn: [Int] {
        reap()
        return state.withLock { state in
            state.slots.indices.filter { slot in
                guard let child = state.slots[slot], state.exits[child.pid] != nil else { return false }
                return !state.killed.contains(child.pid) && !state.terminated.contains(child.pid)
            }
        }
    }

    /// Sends SIGKILL to the child of `slot`, unless it has ended; returns it.
    func kill(slot: Int) -> Child? {
        reap()
        guard let child = state.withLock({ state -> Child? in
            guard let child = state.slots[slot], state.exits[child.pid] == nil else { return nil }
            state.killed.insert(child.pid)
            return child
        }) else { return nil }
        Spawn.signal(SIGKILL, to: child.pid)
        return child
    }

    /// Sends SIGTERM to every child still running; returns them.
    func terminateAll() -> [Child] {
        reap()
        let children = state.withLock { state -> [Child] in
            let running = state.started.filter { state.exits[$0.pid] == nil && !state.killed.contains($0.pid) }
            for child in running { state.terminated.insert(child.pid) }
            return running
        }
        for child in children {
            Spawn.signal(SIGTERM, to: child.pid)
        }
        return children
    }

    /// Sends SIGKILL to every child still running (the harness is ending:
    /// no child may outlive it), and reaps them.
    func killAll() {
        reap()
        let children = state.withLock { state -> [Child] in
            let running = state.started.filter { state.exits[$0.pid] == nil }
            for child in running where !state.terminated.contains(child.pid) { state.killed.insert(child.pid) }
            return running
        }
        for child in children {
            Spawn.signal(SIGKILL, to: child.pid)
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline, children.contains(where: { exit(of: $0.pid) == nil }) {
            usleep(10_000)
            reap()
        }
    }

    /// Waits until `pid` has ended, or `timeout`; returns how it ended.
    func waitForExit(_ pid: Int32, timeout: Duration) async -> ChildExit? {
        let deadline = ContinuousClock.now + timeout
        while true {
            reap()
            if let exit = exit(of: pid) { return exit }
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// A failure of the harness itself (not a violation found in the store).
struct ChaosError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
