import Storage

/// Everything `socle serve` is configured with. Each setting has a flag
/// and a `SOCLE_*` environment variable (README §Configuration).
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// `sqlite:PATH` or `postgres://user:password@host:port/database`.
    public var databaseURL: String
    /// The system id written in version uids and audit details.
    public var systemID: String
    public var authentication: Authentication
    /// Largest request body accepted, in bytes.
    public var maximumBodySize: Int

    public enum Authentication: Sendable {
        case basic([User])
        /// Only accepted on a loopback address.
        case none
    }

    public static let defaultDatabaseURL = "sqlite:./socle-data/socle.sqlite"

    public init(
        host: String = "127.0.0.1", port: Int = 8080, databaseURL: String = ServerConfiguration.defaultDatabaseURL,
        systemID: String = "socle.local", authentication: Authentication = .basic([]), maximumBodySize: Int = 16 << 20
    ) {
        self.host = host
        self.port = port
        self.databaseURL = databaseURL
        self.systemID = systemID
        self.authentication = authentication
        self.maximumBodySize = maximumBodySize
    }

    /// Refuses settings that would be unsafe or cannot work.
    public func validate() throws(ConfigurationError) {
        if case .none = authentication, !Self.isLoopback(host) {
            throw ConfigurationError(
                "authentication can be turned off (--no-auth, SOCLE_AUTH=none) only when listening on a loopback address, not on \(host)")
        }
        if systemID.isEmpty || systemID.contains("::") {
            throw ConfigurationError("the system id '\(systemID)' must be non-empty and must not contain '::'")
        }
        if !(1...65535).contains(port) && port != 0 { throw ConfigurationError("port \(port) is out of range") }
        _ = try DatabaseLocation(databaseURL)
    }

    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }
}

public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Where the data lives, parsed from `SOCLE_DATABASE_URL`.
public enum DatabaseLocation: Sendable, Equatable {
    case sqlite(path: String)
    case postgresql(PostgresURL)

    public init(_ url: String) throws(ConfigurationError) {
        if url.hasPrefix("sqlite:") {
            var path = String(url.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path.removeFirst(2) }
            guard !path.isEmpty else { throw ConfigurationError("the SQLite database URL '\(url)' names no file") }
            self = .sqlite(path: path)
        } else if let postgres = PostgresURL(url) {
            self = .postgresql(postgres)
        } else {
            throw ConfigurationError("unsupported database URL '\(url)': use sqlite:PATH or postgres://user:password@host:port/database")
        }
    }
}
