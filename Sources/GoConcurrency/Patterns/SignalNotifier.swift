// Go's signal.Notify for one signal: deliveries of `signal` become values on a
// channel instead of the signal's default action.
//
// Invariants: while started, the signal's disposition is "ignore" (so it no
// longer kills the process) and a Dispatch signal source reports each
// delivery; `stop` cancels the source and restores the disposition that was
// there before `start`. Deliveries are sent with `trySend`, so with a buffer
// of one, repeated signals coalesce (as the seed's Runner wants).

import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

final class SignalNotifier: @unchecked Sendable {
    let signal: Int32
    private let channel: Chan<Int32>
    private let queue = DispatchQueue(label: "GoConcurrency.signals")
    private struct State {
        var source: (any DispatchSourceSignal)?
        var previous = sigaction()
    }

    /// `start` and `stop` may race (a run that saw the signal stops listening
    /// while its `start` returns), so their state is behind a lock.
    private let state = Mutex(State())

    init(signal: Int32, channel: Chan<Int32>) {
        self.signal = signal
        self.channel = channel
    }

    func start() {
        state.withLock { state in
            guard state.source == nil else { return }
            var ignore = sigaction()
            #if canImport(Darwin)
            ignore.__sigaction_u.__sa_handler = SIG_IGN
            #else
            ignore.__sigaction_handler.sa_handler = SIG_IGN
            #endif
            sigemptyset(&ignore.sa_mask)
            sigaction(signal, &ignore, &state.previous)
            let source = DispatchSource.makeSignalSource(signal: signal, queue: queue)
            let (channel, signal) = (self.channel, self.signal)
            source.setEventHandler {
                _ = channel.trySend(signal)
            }
            source.resume()
            state.source = source
        }
    }

    func stop() {
        state.withLock { state in
            guard let source = state.source else { return }
            source.cancel()
            state.source = nil
            sigaction(signal, &state.previous, nil)
        }
    }
}
