// Go's time.Second and time.Millisecond for the tour, scaled by --time-scale.

/// The durations an example sleeps and waits for, scaled so that the whole
/// tour can run quickly (`--time-scale 0.01`) while its code still reads like
/// the seed's: Go's `time.Sleep(time.Second * 2)` is
/// `try await sleep(for: time.second * 2)`.
struct TourTime: Sendable {
    /// 1.0 keeps the seed's durations.
    let scale: Double

    init(scale: Double = 1.0) {
        precondition(scale > 0 && scale.isFinite, "time scale must be a positive number")
        self.scale = scale
    }

    /// Go's `time.Second`, scaled.
    var second: Duration { .seconds(1) * scale }

    /// Go's `time.Millisecond`, scaled.
    var millisecond: Duration { .milliseconds(1) * scale }
}
