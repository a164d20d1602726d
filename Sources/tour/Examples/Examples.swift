// The tour's registry: every example, in the seed's order.

/// All examples of the tour, section by section as the seed has them.
///
/// To add a section of the seed: write `Examples/<Section>.swift` with
/// `extension Examples { static let <section>: [Example] = [...] }` (one
/// ``Example`` and one ``TourProgram`` per Go program) and add it to ``all``.
/// The tour shows each program's code by reading it from its source file
/// (``SwiftSource``): declare it as `struct Name: TourProgram {` in column 0,
/// closed by a `}` in column 0, with its doc comment right above.
enum Examples {
    static let all: [Example] = {
        let all = scheduler      // goroutine实现基础
            + networkPoller      // goroutine实现基础: the network poller
            + goBlock            // go块
            + channel            // channel
            + range              // range
            + buffering          // 通道缓冲
            + synchronization    // 通道同步
            + directions         // 发送方向
            + select             // select
            + timeouts           // 超时处理
            + nonBlocking        // 非阻塞通道操作
            + closing            // 通道关闭
            + timers             // 定时器
            + tickers            // 打点器
            + idioms             // 生成器, 多路复用, Furture技术, Chain Filter技术, 共享变量
            + runner             // Runner
            + patterns           // Pooling, Work
            + dispatcher         // 另一种worker的写法 (Worker/Dispatcher)
            + context            // not in the seed: Go's context, the Runner's timeout and Ctrl-C in a worker pool
        precondition(Set(all.map(\.name)).count == all.count, "tour: two examples share a name")
        return all
    }()

    /// The example called `name`, if any.
    static func named(_ name: String) -> Example? {
        all.first { $0.name == name }
    }
}
