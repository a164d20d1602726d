// Configuration: which schema a store uses, its advisory-lock namespace, its
// retry policy, and how a `postgres://` URL becomes postgres-nio's client
// configuration.
import Foundation
import PostgresNIO

/// Where and how a ``JobStore`` keeps its jobs.
public struct StoreConfiguration: Sendable {
    /// The schema holding the store's tables (`gc_jobs`, `gc_workers`,
    /// `gc_schema_version`). Lowercase letters, digits and `_`, starting with
    /// a letter or `_`, at most 63 characters: it is pasted into statements as
    /// an identifier.
    public private(set) var schema: String
    /// The first key of every advisory lock the store takes (the second names
    /// what is locked: -1 the migration, 0 the rescue, a worker's id its
    /// session lock). Advisory locks belong to the whole database, and
    /// worker ids restart at 1 in every schema, so by default it is derived
    /// from the schema's name (two schemas of one database never share a
    /// lock). Set it only if another application's locks use the same key.
    public var lockNamespace: Int32
    /// The delay before a failed job's next attempt.
    public var retryPolicy: RetryPolicy
    /// Whether an enqueue of a job that can run now notifies the workers
    /// (NOTIFY, in the enqueue's own statement and transaction), so an idle
    /// worker fetches it at once instead of at its next poll. Every
    /// notifying transaction takes a server-wide lock at commit; turn it off
    /// for very high enqueue rates, or behind a pooler that drops
    /// notifications, and let polling find the jobs.
    public var notifyOnEnqueue: Bool

    /// Fails (precondition) on a schema name that is not a plain identifier.
    public init(
        schema: String = "gc", lockNamespace: Int32? = nil, retryPolicy: RetryPolicy = .default,
        notifyOnEnqueue: Bool = true
    ) {
        precondition(StoreConfiguration.isPlainIdentifier(schema), "schema must match [a-z_][a-z0-9_]{0,62}: \(schema)")
        self.schema = schema
        self.lockNamespace = lockNamespace ?? StoreConfiguration.derivedLockNamespace(schema)
        self.retryPolicy = retryPolicy
        self.notifyOnEnqueue = notifyOnEnqueue
    }

    /// A stable 31-bit key from the schema's name (FNV-1a over its bytes),
    /// the same in every process and release.
    static func derivedLockNamespace(_ schema: String) -> Int32 {
        var hash: UInt32 = 2_166_136_261
        for byte in schema.utf8 {
            hash = (hash ^ UInt32(byte)) &* 16_777_619
        }
        return Int32(bitPattern: hash & 0x7FFF_FFFF)
    }

    static func isPlainIdentifier(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 63 else { return false }
        let isLetter = { (c: UInt8) in (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || c == UInt8(ascii: "_") }
        let isDigit = { (c: UInt8) in c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
        return isLetter(first) && name.utf8.allSatisfy { isLetter($0) || isDigit($0) }
    }
}

/// A `postgres://user[:password]@host[:port]/database[?sslmode=…]` URL, taken
/// apart once for both the pool's and a single connection's configuration.
struct DatabaseURL {
    enum TLSMode { case disable, prefer, require }
    let host: String
    let port: Int
    let user: String
    let password: String?
    let database: String?
    let tls: TLSMode

    init?(_ databaseURL: String) {
        guard let components = URLComponents(string: databaseURL),
              components.scheme == "postgres" || components.scheme == "postgresql",
              let host = components.host, !host.isEmpty,
              let encodedUser = components.percentEncodedUser, !encodedUser.isEmpty
        else { return nil }
        // Decoded once: a password may hold a literal `%` (`%25` in the URL).
        user = encodedUser.removingPercentEncoding ?? encodedUser
        password = components.percentEncodedPassword.map { $0.removingPercentEncoding ?? $0 }
        let path = components.path
        let database = path.hasPrefix("/") ? String(path.dropFirst()) : path
        self.database = database.isEmpty ? nil : database
        self.host = host
        port = components.port ?? 5432
        switch components.queryItems?.first(where: { $0.name == "sslmode" })?.value {
        case nil, "disable", "allow": tls = .disable
        case "prefer": tls = .prefer
        case "require", "verify-ca", "verify-full": tls = .require
        default: return nil
        }
    }
}

extension PostgresClient.Configuration {
    /// A client configuration from `postgres://user[:password]@host[:port]/database`
    /// (`postgresql://` too). `?sslmode=`: `disable` or `allow` (or none): no
    /// TLS; `prefer`: TLS if the server offers it; `require`, `verify-ca`,
    /// `verify-full`: TLS with the certificate fully verified (stricter than
    /// libpq's `require`, which verifies nothing). Nil when the URL has no
    /// host or user, or an unknown `sslmode`.
    public init?(databaseURL: String) {
        guard let url = DatabaseURL(databaseURL) else { return nil }
        let tls: PostgresClient.Configuration.TLS
        switch url.tls {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(.makeClientConfiguration())
        case .require: tls = .require(.makeClientConfiguration())
        }
        self.init(host: url.host, port: url.port, username: url.user, password: url.password, database: url.database, tls: tls)
    }
}

extension PostgresConnection.Configuration {
    /// A single connection's configuration from the same URL as
    /// ``PostgresNIO/PostgresClient/Configuration/init(databaseURL:)`` (a
    /// worker's control connection, which never joins the pool).
    public init?(databaseURL: String) {
        guard let url = DatabaseURL(databaseURL) else { return nil }
        let tls: PostgresConnection.Configuration.TLS
        do {
            switch url.tls {
            case .disable: tls = .disable
            case .prefer: tls = .prefer(try .init(configuration: .makeClientConfiguration()))
            case .require: tls = .require(try .init(configuration: .makeClientConfiguration()))
            }
        } catch {
            return nil
        }
        self.init(host: url.host, port: url.port, username: url.user, password: url.password, database: url.database, tls: tls)
    }
}
