import Logging
import Services
import Storage

extension ServerConfiguration {
    /// The configuration the settings give (flags over environment over
    /// file over defaults), each value read and checked here, in one place.
    /// No users with basic authentication is left to the caller (`socle
    /// serve` makes an admin with a random password for the run).
    public init(settings: SettingValues) throws(ConfigurationError) {
        self.init()
        host = try settings.read(Settings.host, "an address") { $0.isEmpty ? nil : $0 } ?? host
        port = try settings.read(Settings.port, "a port number (0 to 65535)") { Int($0).flatMap { (0...65535).contains($0) ? $0 : nil } } ?? port
        databaseURL = settings.value(Settings.databaseURL)?.value ?? databaseURL
        systemID = settings.value(Settings.systemID)?.value ?? systemID
        database = try Self.databaseSettings(settings)
        if let (text, _) = settings.value(Settings.trustedProxies) { trustedProxies = try TrustedProxies(text) }
        authentication = try Self.authentication(settings)
        let userinfo = try settings.read(Settings.oidcUserinfo, "on or off") { ["on": true, "off": false][$0] } ?? false
        if let issuer = try settings.read(Settings.oidcIssuer, "a URL", { $0.isEmpty ? nil : $0 }) {
            let audience = settings.value(Settings.oidcAudience)?.value ?? ""
            let roles = try settings.read(Settings.oidcRolesClaim, "a claim name or dotted path") { $0.isEmpty ? nil : $0 } ?? "roles"
            let acr = try settings.read(Settings.oidcRequiredACR, "an acr value (eidas1)") { $0.isEmpty ? nil : $0 }
            oidc = OIDCSettings(issuer: issuer, audience: audience, rolesClaim: roles, requiredACR: acr, userinfo: userinfo)
        }
        metrics = try settings.read(Settings.metrics, "admin, public or off") { MetricsAccess(rawValue: $0) } ?? metrics
        maximumBodySize = try settings.read(Settings.maximumBodySize, "a number of bytes (at least 1024)") { Int($0).flatMap { $0 >= 1024 ? $0 : nil } }
            ?? maximumBodySize
        requestTimeout = try Self.seconds(settings, Settings.requestTimeout).flatMap { $0 == .zero ? nil : $0 }
        maximumConcurrentRequests = try settings.read(Settings.maximumConcurrentRequests, "a whole number, 0 for no bound") {
            Int($0).flatMap { $0 >= 0 ? $0 : nil }
        } ?? 0
        requestQueueTimeout = try Self.seconds(settings, Settings.requestQueueTimeout) ?? requestQueueTimeout
        shutdownGracePeriod = try Self.seconds(settings, Settings.shutdownGracePeriod) ?? shutdownGracePeriod
        try readFHIRSettings(settings)
        // Unset: the shipped set.
        mappings = MappingSource.setting(try settings.read(Settings.mappings, "shipped, none or a folder of FHIRconnect mapping files") { $0.isEmpty ? nil : $0 })
        careRelationships = try settings.read(Settings.careRelationships, "off or careteam") { ["off": false, "careteam": true][$0] } ?? false
        accessTrace.enabled = try settings.read(Settings.accessTrace, "on or off") { ["on": true, "off": false][$0] } ?? true
        accessTrace.keyPath = try settings.read(Settings.accessTraceKey, "a file path") { $0.isEmpty ? nil : $0 }
        accessTrace.retentionDays = try settings.read(Settings.accessTraceRetentionDays, "a whole number of days, 0 to keep every entry") {
            Int($0).flatMap { $0 >= 0 ? $0 : nil }
        } ?? 0
        logLevel = try settings.read(Settings.logLevel, "trace, debug, info, notice, warning, error or critical") { Logger.Level(rawValue: $0) } ?? .info
        let endpoint = try settings.read(Settings.otelEndpoint, "an http:// or https:// URL") { text in
            (text.hasPrefix("http://") || text.hasPrefix("https://")) && text.count > 8 ? text : nil
        }
        let wireProtocol = try settings.read(Settings.otelProtocol, "http/protobuf or http/json") { ["http/protobuf", "http/json"].contains($0) ? $0 : nil }
        let ratio = try settings.read(Settings.otelSampleRatio, "a number from 0 to 1") { Double($0).flatMap { (0...1).contains($0) ? $0 : nil } }
        tracing = endpoint.map { SocleTracing.Exporter(endpoint: $0, wireProtocol: wireProtocol ?? "http/protobuf", sampleRatio: ratio ?? 1) }
    }

    /// `SOCLE_FHIR_REFERENTIAL_INTEGRITY` and `SOCLE_FHIR_CONDITIONAL_DELETE`,
    /// which every command that writes FHIR resources reads.
    public mutating func readFHIRSettings(_ settings: SettingValues) throws(ConfigurationError) {
        fhirReferentialIntegrity = try settings.read(Settings.fhirReferentialIntegrity, "true or false") { ["true": true, "false": false][$0] } ?? true
        fhirConditionalDelete = try settings.read(Settings.fhirConditionalDelete, "single or multiple") { FHIRService.ConditionalDelete(rawValue: $0) }
            ?? .single
    }

    /// The database settings alone, for the commands that open the store without serving.
    public static func databaseSettings(_ settings: SettingValues) throws(ConfigurationError) -> DatabaseSettings {
        let size = try settings.read(Settings.poolSize, "a number of connections (1 to 1000)") { Int($0).flatMap { (1...1000).contains($0) ? $0 : nil } }
        let timeout = try seconds(settings, Settings.statementTimeout) ?? .seconds(60)
        return DatabaseSettings(poolSize: size, statementTimeout: timeout == .zero ? nil : timeout)
    }

    static func seconds(_ settings: SettingValues, _ setting: Setting) throws(ConfigurationError) -> Duration? {
        try settings.read(setting, "a number of seconds (0 or more)") { text in
            Double(text).flatMap { $0 >= 0 && $0.isFinite ? Duration.milliseconds(Int64($0 * 1000)) : nil }
        }
    }

    static func authentication(_ settings: SettingValues) throws(ConfigurationError) -> Authentication {
        let mode = try settings.read(Settings.auth, "basic or none") { ["basic", "none"].contains($0) ? $0 : nil } ?? "basic"
        guard mode == "basic" else { return .none }
        return .basic(try User.parseList(settings.value(Settings.users)?.value ?? ""))
    }
}
