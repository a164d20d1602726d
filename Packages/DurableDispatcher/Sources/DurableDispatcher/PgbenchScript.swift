// PgbenchScript: the statements a worker runs for each job — the fetch (one
// job) and the fenced completion — rendered as a pgbench script, so that
// pgbench can measure the database's own rate for exactly these statements on
// a machine (the ceiling the worker processes are compared with). The SQL text
// is the library's, taken from `Statements`, never a copy: only its bind
// placeholders are replaced.
//
// - Which placeholder is which value is not assumed from the statement's
//   text: the statement is built with a distinct sentinel value per
//   parameter, and the one sequence of those values (each used at least
//   once, some more: the fetch binds its owner twice) whose bindings equal
//   the statement's (`PostgresBindings` is `Hashable`) names each `$n`. A change
//   in Statements that adds, drops or retypes a parameter makes rendering
//   throw instead of producing a wrong script.
// - Constants of the run (queue, LIMIT 1, the owner) become SQL literals; the
//   values of the fetched job become pgbench variables, set by `\gset` from
//   the fetch's RETURNING columns (`id`, `attempt`, `attempted_at_us`).
// - The completion ends with `\gset` too: pgbench ends a client with an
//   error when a `\gset` query returns no row, so an empty queue or a fenced
//   completion fails the run rather than counting as a transaction.
import PostgresNIO

/// Why a pgbench script could not be rendered.
public enum PgbenchScriptError: Error, Sendable, Equatable {
    /// A queue name pgbench would misread (`:` starts a variable there).
    case unsupportedQueueName(String)
    /// The statement's bind parameters are not the ones this renderer knows.
    case unmatchedParameters(statement: String)
}

extension JobStore {
    /// A pgbench script (`pgbench -n -M prepared -f <script>`) whose one
    /// transaction is what a worker does for one job of `queue`: the fetch
    /// with `LIMIT 1` as `owner`, then the fenced completion of the job it
    /// returned. Each transaction completes exactly one job; the queue must
    /// hold enough of them for the run.
    @_spi(Benchmark)
    public func pgbenchScript(queue: String, owner: WorkerID) throws -> String {
        guard !queue.contains(":") else { throw PgbenchScriptError.unsupportedQueueName(queue) }
        let literalQueue = "'" + queue.replacingOccurrences(of: "'", with: "''") + "'"
        // Sentinels: distinct within each statement, so one ordering matches.
        let limitSentinel: Int32 = 1
        let ownerSentinel: Int32 = 2_000_000_003
        let fetch = try PgbenchRendering.render(
            statements.fetch(queue: queue, limit: limitSentinel, owner: ownerSentinel),
            name: "fetch",
            [
                .init(literalQueue) { $0.append(queue) },
                .init("1") { $0.append(limitSentinel) },
                .init("\(owner.rawValue)") { $0.append(ownerSentinel) },
            ]
        )
        let fence = Fence(id: -1_000_000_001, attempt: -1_002, owner: -1_000_000_003, attemptedAtMicros: -1_000_000_004)
        let complete = try PgbenchRendering.render(
            statements.complete(fence),
            name: "complete",
            [
                .init(":id") { $0.append(fence.id) },
                .init(":attempt") { $0.append(fence.attempt) },
                .init("\(owner.rawValue)") { $0.append(fence.owner) },
                .init(":attempted_at_us") { $0.append(fence.attemptedAtMicros) },
            ]
        )
        return """
            -- One job of queue \(literalQueue) fetched by worker \(owner.rawValue) and completed:
            -- JobStore.fetch's and JobStore.complete's statements (schema \(statements.schema)),
            -- rendered by JobStore.pgbenchScript. Run with: pgbench -n -M prepared -f <this file>
            \(fetch)
            \\gset
            \(complete)
            \\gset completed_

            """
    }
}

enum PgbenchRendering {
    struct Parameter {
        /// What replaces the parameter's `$n` in the script.
        let replacement: String
        /// Appends the sentinel value the statement was built with.
        let bind: (inout PostgresBindings) -> Void

        init(_ replacement: String, bind: @escaping (inout PostgresBindings) -> Void) {
            self.replacement = replacement
            self.bind = bind
        }
    }

    /// `query`'s SQL with each `$n` replaced by its parameter's replacement,
    /// the parameters matched to the binds by value (a parameter may be bound
    /// more than once, as the fetch binds its owner twice; each must be bound
    /// at least once).
    static func render(_ query: PostgresQuery, name: String, _ parameters: [Parameter]) throws -> String {
        var matches: [[Int]] = []
        for order in sequences(length: query.binds.count, of: parameters.count)
        where Set(order).count == parameters.count {
            var bindings = PostgresBindings()
            for index in order { parameters[index].bind(&bindings) }
            if bindings == query.binds { matches.append(order) }
        }
        guard matches.count == 1, let order = matches.first else {
            throw PgbenchScriptError.unmatchedParameters(statement: name)
        }
        // `$n` (1-based) is parameters[order[n - 1]].
        var result = ""
        var scalars = query.sql.unicodeScalars[...]
        while let dollar = scalars.firstIndex(of: "$") {
            result.unicodeScalars.append(contentsOf: scalars[..<dollar])
            let digits = scalars[scalars.index(after: dollar)...].prefix { $0.properties.numericType == .decimal }
            guard let number = Int(String(String.UnicodeScalarView(digits))), number >= 1, number <= order.count else {
                throw PgbenchScriptError.unmatchedParameters(statement: name)
            }
            result += parameters[order[number - 1]].replacement
            scalars = scalars[digits.endIndex...]
        }
        result.unicodeScalars.append(contentsOf: scalars)
        return result
    }

    /// Every sequence of `length` indices below `count` (count^length of
    /// them: a few hundred for these statements).
    static func sequences(length: Int, of count: Int) -> [[Int]] {
        guard length > 0 else { return [[]] }
        guard count > 0 else { return [] }
        return sequences(length: length - 1, of: count).flatMap { prefix in
            (0..<count).map { prefix + [$0] }
        }
    }
}
