/// One setting of the `socle` command: its environment variable (the name
/// README §Configuration lists), its flag, its key in a configuration file,
/// its default, and whether its value is a secret to mask when printed.
public struct Setting: Sendable, Hashable {
    public enum Masking: Sendable, Hashable {
        case none
        /// The passwords of a `name:password[:role],…` list.
        case passwords
        /// The password in a URL's user info.
        case urlPassword
    }

    /// `SOCLE_PORT`.
    public let name: String
    /// `--port`, when the setting has a flag.
    public let flag: String?
    /// The value used when no flag, variable or file gives one; nil when there is none.
    public let defaultValue: String?
    public let masking: Masking

    /// The key in a configuration file: the name without `SOCLE_`, in lower case (`port`, `database_url`).
    public var fileKey: String { String(name.dropFirst("SOCLE_".count)).lowercased() }

    init(_ name: String, flag: String? = nil, default defaultValue: String? = nil, masking: Masking = .none) {
        self.name = name
        self.flag = flag
        self.defaultValue = defaultValue
        self.masking = masking
    }

    /// The value as `socle config check` prints it: a password replaced by `****`.
    public func masked(_ value: String) -> String {
        switch masking {
        case .none:
            return value
        case .passwords:
            return value.split(separator: ",", omittingEmptySubsequences: false).map { entry in
                var parts = entry.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                guard parts.count >= 2 else { return String(entry) }
                let role = parts.count >= 3 && User.Role.list(parts[parts.count - 1]) != nil ? parts.removeLast() : nil
                return ([parts[0], "****"] + (role.map { [$0] } ?? [])).joined(separator: ":")
            }.joined(separator: ",")
        case .urlPassword:
            guard let scheme = value.range(of: "://"), let at = value[scheme.upperBound...].firstIndex(of: "@") else { return value }
            let userInfo = value[scheme.upperBound..<at]
            guard let colon = userInfo.firstIndex(of: ":") else { return value }
            return String(value[..<colon]) + ":****" + String(value[at...])
        }
    }
}

/// Every setting Socle reads, the one list: the configuration file's keys
/// are checked against it, `socle config check` prints it, and a test holds
/// README's configuration table to it.
public enum Settings {
    public static let config = Setting("SOCLE_CONFIG", flag: "--config")
    public static let host = Setting("SOCLE_HOST", flag: "--host", default: "127.0.0.1")
    public static let port = Setting("SOCLE_PORT", flag: "--port", default: "8080")
    public static let databaseURL = Setting(
        "SOCLE_DATABASE_URL", flag: "--database", default: ServerConfiguration.defaultDatabaseURL, masking: .urlPassword)
    public static let poolSize = Setting("SOCLE_DATABASE_POOL_SIZE", flag: "--pool-size")
    public static let statementTimeout = Setting("SOCLE_DATABASE_STATEMENT_TIMEOUT", flag: "--statement-timeout", default: "60")
    public static let systemID = Setting("SOCLE_SYSTEM_ID", flag: "--system-id", default: "socle.local")
    public static let users = Setting("SOCLE_USERS", masking: .passwords)
    public static let auth = Setting("SOCLE_AUTH", flag: "--no-auth", default: "basic")
    public static let metrics = Setting("SOCLE_METRICS", default: "admin")
    public static let maximumBodySize = Setting("SOCLE_MAX_BODY_SIZE", default: "16777216")
    public static let requestTimeout = Setting("SOCLE_REQUEST_TIMEOUT", default: "0")
    public static let maximumConcurrentRequests = Setting("SOCLE_MAX_CONCURRENT_REQUESTS", default: "0")
    public static let requestQueueTimeout = Setting("SOCLE_REQUEST_QUEUE_TIMEOUT", default: "30")
    public static let shutdownGracePeriod = Setting("SOCLE_SHUTDOWN_GRACE_PERIOD", default: "30")
    public static let trustedProxies = Setting("SOCLE_TRUSTED_PROXIES", flag: "--trusted-proxies")
    public static let fhirConditionalDelete = Setting("SOCLE_FHIR_CONDITIONAL_DELETE", default: "single")
    public static let fhirReferentialIntegrity = Setting("SOCLE_FHIR_REFERENTIAL_INTEGRITY", default: "true")
    public static let logLevel = Setting("SOCLE_LOG_LEVEL", default: "info")
    public static let otelEndpoint = Setting("SOCLE_OTEL_ENDPOINT")
    public static let otelProtocol = Setting("SOCLE_OTEL_PROTOCOL", default: "http/protobuf")
    public static let otelSampleRatio = Setting("SOCLE_OTEL_SAMPLE_RATIO", default: "1")
    public static let oidcIssuer = Setting("SOCLE_OIDC_ISSUER")
    public static let oidcAudience = Setting("SOCLE_OIDC_AUDIENCE")
    public static let oidcRolesClaim = Setting("SOCLE_OIDC_ROLES_CLAIM", default: "roles")
    public static let oidcRequiredACR = Setting("SOCLE_OIDC_REQUIRED_ACR")
    public static let oidcUserinfo = Setting("SOCLE_OIDC_USERINFO", default: "off")
    public static let accessTrace = Setting("SOCLE_ACCESS_TRACE", default: "on")
    public static let careRelationships = Setting("SOCLE_CARE_RELATIONSHIPS", default: "off")
    public static let accessTraceKey = Setting("SOCLE_ACCESS_TRACE_KEY")
    public static let accessTraceRetentionDays = Setting("SOCLE_ACCESS_TRACE_RETENTION_DAYS", default: "0")
    public static let mappings = Setting("SOCLE_MAPPINGS", flag: "--mappings", default: "shipped")

    public static let all: [Setting] = [
        config, host, port, databaseURL, poolSize, statementTimeout, systemID, users, auth, metrics, maximumBodySize, requestTimeout,
        maximumConcurrentRequests, requestQueueTimeout, shutdownGracePeriod, trustedProxies, fhirConditionalDelete, fhirReferentialIntegrity,
        logLevel, otelEndpoint, otelProtocol, otelSampleRatio, accessTrace, accessTraceKey, accessTraceRetentionDays,
        oidcIssuer, oidcAudience, oidcRolesClaim, oidcRequiredACR, oidcUserinfo, careRelationships, mappings,
    ]
}
