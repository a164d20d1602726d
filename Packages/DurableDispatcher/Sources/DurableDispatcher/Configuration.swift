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
    /// what is locked: -1 the migration). Change it only if another
    /// application uses the same namespace.
    public var lockNamespace: Int32
    /// The delay before a failed job's next attempt.
    public var retryPolicy: RetryPolicy

    /// Fails (precondition) on a schema name that is not a plain identifier.
    public init(schema: String = "gc", lockNamespace: Int32 = 0x4743_4A42, retryPolicy: RetryPolicy = .default) {
        precondition(StoreConfiguration.isPlainIdentifier(schema), "schema must match [a-z_][a-z0-9_]{0,62}: \(schema)")
        self.schema = schema
        self.lockNamespace = lockNamespace
        self.retryPolicy = retryPolicy
    }

    static func isPlainIdentifier(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 63 else { return false }
        let isLetter = { (c: UInt8) in (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || c == UInt8(ascii: "_") }
        let isDigit = { (c: UInt8) in c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
        return isLetter(first) && name.utf8.allSatisfy { isLetter($0) || isDigit($0) }
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
        guard let components = URLComponents(string: databaseURL),
              components.scheme == "postgres" || components.scheme == "postgresql",
              let host = components.host, !host.isEmpty,
              let encodedUser = components.percentEncodedUser, !encodedUser.isEmpty
        else { return nil }
        // Decoded once: a password may hold a literal `%` (`%25` in the URL).
        let user = encodedUser.removingPercentEncoding ?? encodedUser
        let password = components.percentEncodedPassword.map { $0.removingPercentEncoding ?? $0 }
        let path = components.path
        let database = path.hasPrefix("/") ? String(path.dropFirst()) : path
        let sslMode = components.queryItems?.first { $0.name == "sslmode" }?.value
        let tls: PostgresClient.Configuration.TLS
        switch sslMode {
        case nil, "disable", "allow": tls = .disable
        case "prefer": tls = .prefer(.makeClientConfiguration())
        case "require", "verify-ca", "verify-full": tls = .require(.makeClientConfiguration())
        default: return nil
        }
        self.init(
            host: host,
            port: components.port ?? 5432,
            username: user,
            password: password,
            database: database.isEmpty ? nil : database,
            tls: tls
        )
    }
}
