import Logging
import Services
import Storage

/// Everything `socle serve` is configured with, read from the settings
/// (`Settings`: flags, `SOCLE_*` variables, a configuration file; README §Configuration).
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
    /// Pool size and statement timeout.
    public var database: DatabaseSettings
    /// The proxies whose forwarding headers make the URLs Socle writes.
    public var trustedProxies: TrustedProxies
    /// FHIR references to resources of this server must name existing ones,
    /// and a referenced resource cannot be deleted (`SOCLE_FHIR_REFERENTIAL_INTEGRITY`).
    public var fhirReferentialIntegrity = true
    /// A conditional delete matching several resources: 412, or all deleted (`SOCLE_FHIR_CONDITIONAL_DELETE`).
    public var fhirConditionalDelete = FHIRService.ConditionalDelete.single
    /// Who may read `/metrics`, or metrics off (`SOCLE_METRICS`).
    public var metrics = MetricsAccess.admin
    /// Requests in flight at most, 0 for no bound (`SOCLE_MAX_CONCURRENT_REQUESTS`),
    /// and how long one past it waits for its turn (`SOCLE_REQUEST_QUEUE_TIMEOUT`).
    /// No bound by default: measured, a burst of 512 connections against 8
    /// PostgreSQL connections gave no 5xx without it, and 64 cost 5 to 17% of the throughput (BENCHMARKS.md).
    public var maximumConcurrentRequests = 0
    public var requestQueueTimeout: Duration = .seconds(30)
    /// How long a request may take before it is cancelled and answered 503; nil: no limit (`SOCLE_REQUEST_TIMEOUT`).
    /// None by default: the statement timeout bounds the database work, and
    /// the timeout's child tasks cost 10 to 30% of the throughput (BENCHMARKS.md).
    public var requestTimeout: Duration?
    /// How long SIGTERM waits for in-flight requests before cancelling them (`SOCLE_SHUTDOWN_GRACE_PERIOD`).
    public var shutdownGracePeriod: Duration = .seconds(30)
    public var logLevel = Logger.Level.info
    /// Where traces go; nil: no tracing (`SOCLE_OTEL_ENDPOINT`, `SOCLE_OTEL_PROTOCOL`).
    public var tracing: SocleTracing.Exporter?
    /// OpenID Connect bearer tokens, beside Basic (`SOCLE_OIDC_ISSUER`, `SOCLE_OIDC_AUDIENCE`, `SOCLE_OIDC_ROLES_CLAIM`); nil: Basic only.
    public var oidc: OIDCSettings?
    /// Clinicians reach only the patients of their active CareTeams, or break the glass (`SOCLE_CARE_RELATIONSHIPS`).
    public var careRelationships = false
    /// The FHIRconnect mapping files in force (`SOCLE_MAPPINGS`: the shipped set, a folder); none when nil.
    public var mappings: MappingSource?
    /// The access trace (`SOCLE_ACCESS_TRACE`, `SOCLE_ACCESS_TRACE_KEY`, `SOCLE_ACCESS_TRACE_RETENTION_DAYS`).
    public var accessTrace = AccessTraceSettings()

    /// Whether every access to patient data is traced, the key that signs
    /// the trace's checkpoints, and how long entries are kept.
    public struct AccessTraceSettings: Sendable {
        public var enabled = true
        /// The Ed25519 key file; nil: beside the SQLite database, or `./socle-data/access-trace.key` on PostgreSQL.
        public var keyPath: String?
        /// Entries older than this many days are removed; 0 keeps them all.
        public var retentionDays = 0

        public init(enabled: Bool = true, keyPath: String? = nil, retentionDays: Int = 0) {
            self.enabled = enabled
            self.keyPath = keyPath
            self.retentionDays = retentionDays
        }
    }

    public enum Authentication: Sendable {
        case basic([User])
        /// Only accepted on a loopback address.
        case none
    }

    public static let defaultDatabaseURL = "sqlite:./socle-data/socle.sqlite"

    public init(
        host: String = "127.0.0.1", port: Int = 8080, databaseURL: String = ServerConfiguration.defaultDatabaseURL,
        systemID: String = "socle.local", authentication: Authentication = .basic([]), maximumBodySize: Int = 16 << 20,
        database: DatabaseSettings = DatabaseSettings(statementTimeout: .seconds(60)), trustedProxies: TrustedProxies = .none
    ) {
        self.host = host
        self.port = port
        self.databaseURL = databaseURL
        self.systemID = systemID
        self.authentication = authentication
        self.maximumBodySize = maximumBodySize
        self.database = database
        self.trustedProxies = trustedProxies
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
        if let oidc {
            let plain = oidc.issuer.hasPrefix("http://")
            let host = plain ? oidc.issuer.dropFirst(7).split(separator: "/").first.map { String($0.split(separator: ":").first ?? "") } ?? "" : ""
            guard oidc.issuer.hasPrefix("https://") || (plain && Self.isLoopback(host)) else {
                throw ConfigurationError("the OpenID Connect issuer \(oidc.issuer) must be an https:// URL (http:// only on a loopback address)")
            }
            guard !oidc.audience.isEmpty else { throw ConfigurationError("SOCLE_OIDC_ISSUER needs SOCLE_OIDC_AUDIENCE: the audience tokens must name") }
        }
        _ = try location()
        if let size = database.poolSize, !(1...1000).contains(size) { throw ConfigurationError("the database pool size \(size) is out of range (1 to 1000)") }
        if let timeout = database.statementTimeout, timeout <= .zero { throw ConfigurationError("the statement timeout must be positive") }
    }

    /// Where the data lives (`DatabaseLocation`), or why the URL is refused.
    public func location() throws(ConfigurationError) -> DatabaseLocation {
        do {
            return try DatabaseLocation(databaseURL)
        } catch {
            throw ConfigurationError(error.description)
        }
    }

    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }
}

public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
