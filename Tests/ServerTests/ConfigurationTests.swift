import Foundation
import SocleTestSupport
import Testing

@testable import Server

/// The settings (issue 18 §6): flags over environment over file over
/// defaults; a configuration file whose unknown keys are named; every bad
/// value refused with the setting, the value and where it came from;
/// secrets masked when printed; README's table and the sources' `SOCLE_*`
/// names held to the one list, `Settings.all`.
@Suite("Configuration")
struct ConfigurationTests {
    static func file(_ text: String, _ name: String = "socle.yaml") throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("socle-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent(name).path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Removes a file `file` wrote, with its folder.
    static func remove(_ path: String) {
        try? FileManager.default.removeItem(at: URL(fileURLWithPath: path).deletingLastPathComponent())
    }

    @Test
    func flagsWinOverTheEnvironmentWhichWinsOverTheFileWhichWinsOverDefaults() throws {
        let path = try Self.file("port: 9001\nhost: 0.0.0.0\nsystem_id: from.file\nmetrics: public\n")
        defer { Self.remove(path) }
        let settings = try SettingValues.load(
            flags: ["SOCLE_PORT": "9003", "SOCLE_CONFIG": path], environment: ["SOCLE_PORT": "9002", "SOCLE_HOST": "127.0.0.2"])
        #expect(settings.value(Settings.port)?.value == "9003" && settings.value(Settings.port)?.source == .flag)
        #expect(settings.value(Settings.host)?.value == "127.0.0.2" && settings.value(Settings.host)?.source == .environment)
        #expect(settings.value(Settings.systemID)?.value == "from.file" && settings.value(Settings.systemID)?.source == .file)
        #expect(settings.value(Settings.statementTimeout)?.value == "60" && settings.value(Settings.statementTimeout)?.source == .default)
        #expect(settings.value(Settings.poolSize) == nil)
        let configuration = try ServerConfiguration(settings: settings)
        #expect(configuration.port == 9003 && configuration.host == "127.0.0.2" && configuration.systemID == "from.file")
        #expect(configuration.metrics == .public)
        // The environment names the file when no flag does.
        let fromEnvironment = try SettingValues.load(flags: [:], environment: ["SOCLE_CONFIG": path])
        #expect(try ServerConfiguration(settings: fromEnvironment).port == 9001)
    }

    @Test
    func everySettingIsReadFromAFile() throws {
        let path = try Self.file(
            """
            # Every setting of socle serve
            host: 127.0.0.1
            port: 8181
            database_url: sqlite:/tmp/x.sqlite
            database_pool_size: 7
            database_statement_timeout: 12.5
            system_id: hospital.example
            users:
              - alice:secret-a:admin
              - bob:secret-b
            auth: basic
            metrics: off
            max_body_size: 2048
            request_timeout: 0
            max_concurrent_requests: 64
            request_queue_timeout: 5
            shutdown_grace_period: 3
            trusted_proxies: [10.0.0.0/8, "::1"]
            fhir_conditional_delete: multiple
            fhir_referential_integrity: false
            log_level: debug
            otel_endpoint: http://collector.internal:4318
            otel_protocol: http/json
            otel_sample_ratio: 0.25
            access_trace: off
            care_relationships: careteam
            oidc_issuer: https://auth.example/realms/hospital
            oidc_audience: socle
            oidc_roles_claim: realm_access.roles
            oidc_required_acr: eidas1
            oidc_userinfo: on
            access_trace_key: /var/lib/socle/trace.key
            access_trace_retention_days: 3650
            mappings: /etc/socle/mappings
            """)
        let configuration = try ServerConfiguration(settings: try SettingValues.load(flags: ["SOCLE_CONFIG": path], environment: [:]))
        #expect(configuration.port == 8181 && configuration.databaseURL == "sqlite:/tmp/x.sqlite" && configuration.systemID == "hospital.example")
        #expect(configuration.database.poolSize == 7 && configuration.database.statementTimeout == .milliseconds(12_500))
        guard case .basic(let users) = configuration.authentication else { Issue.record("not basic"); return }
        #expect(users.map(\.name) == ["alice", "bob"] && users.map(\.roles) == [[.admin], [.clinician]])
        #expect(configuration.metrics == .off && configuration.maximumBodySize == 2048 && configuration.requestTimeout == nil)
        #expect(configuration.maximumConcurrentRequests == 64 && configuration.requestQueueTimeout == .seconds(5))
        #expect(configuration.shutdownGracePeriod == .seconds(3) && configuration.trustedProxies != .none)
        #expect(configuration.fhirConditionalDelete == .multiple && configuration.fhirReferentialIntegrity == false)
        #expect(configuration.logLevel == .debug)
        #expect(!configuration.accessTrace.enabled && configuration.accessTrace.keyPath == "/var/lib/socle/trace.key")
        #expect(configuration.accessTrace.retentionDays == 3650)
        #expect(configuration.careRelationships)
        #expect(configuration.mappings == .folder("/etc/socle/mappings"))
        #expect(configuration.oidc == OIDCSettings(issuer: "https://auth.example/realms/hospital", audience: "socle", rolesClaim: "realm_access.roles", requiredACR: "eidas1", userinfo: true))
        #expect(configuration.tracing == SocleTracing.Exporter(endpoint: "http://collector.internal:4318", wireProtocol: "http/json", sampleRatio: 0.25))
        // Each setting of the list but the file's own name has its key in the file above.
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for setting in Settings.all where setting != Settings.config {
            #expect(text.contains("\n\(setting.fileKey):"), "\(setting.fileKey) is not exercised")
        }
    }

    /// The defaults of the list (what `socle serve` starts with) are those
    /// of `ServerConfiguration` (what tests and embedders start with): one
    /// set of defaults, whichever way Socle is started.
    @Test
    func theListsDefaultsAreTheConfigurationsDefaults() throws {
        let fromSettings = try ServerConfiguration(settings: SettingValues())
        let plain = ServerConfiguration()
        #expect(fromSettings.host == plain.host && fromSettings.port == plain.port && fromSettings.databaseURL == plain.databaseURL)
        #expect(fromSettings.systemID == plain.systemID && fromSettings.maximumBodySize == plain.maximumBodySize)
        #expect(fromSettings.database.poolSize == plain.database.poolSize && fromSettings.database.statementTimeout == plain.database.statementTimeout)
        #expect(fromSettings.metrics == plain.metrics && fromSettings.requestTimeout == plain.requestTimeout)
        #expect(fromSettings.maximumConcurrentRequests == plain.maximumConcurrentRequests && fromSettings.requestQueueTimeout == plain.requestQueueTimeout)
        #expect(fromSettings.shutdownGracePeriod == plain.shutdownGracePeriod && fromSettings.trustedProxies == plain.trustedProxies)
        #expect(fromSettings.fhirConditionalDelete == plain.fhirConditionalDelete && fromSettings.fhirReferentialIntegrity == plain.fhirReferentialIntegrity)
        #expect(fromSettings.logLevel == plain.logLevel && fromSettings.tracing == nil && plain.tracing == nil)
        guard case .basic(let users) = fromSettings.authentication else { Issue.record("not basic by default"); return }
        #expect(users.isEmpty)
        // `socle serve` has the shipped mappings unless told otherwise; a configuration built in code has none.
        #expect(fromSettings.mappings == .shipped && plain.mappings == nil)
        let none = try ServerConfiguration(settings: SettingValues.load(flags: ["SOCLE_MAPPINGS": "none"], environment: [:]))
        #expect(none.mappings == nil)
        let folder = try ServerConfiguration(settings: SettingValues.load(flags: [:], environment: ["SOCLE_MAPPINGS": "/srv/mappings"]))
        #expect(folder.mappings == .folder("/srv/mappings"))
    }

    @Test
    func unknownKeysAreNamedWithTheirLines() throws {
        let path = try Self.file("port: 8080\nprot: 8081\ndatabse_url: sqlite:x\n")
        defer { Self.remove(path) }
        let error = try #require(throws: ConfigurationError.self) { try SettingValues.load(flags: ["SOCLE_CONFIG": path], environment: [:]) }
        #expect(error.description.contains("unknown settings 'prot' (line 2), 'databse_url' (line 3)"), "\(error)")
        #expect(error.description.contains(path) && error.description.contains("database_url"), "\(error)")
    }

    @Test(arguments: [
        ("port: [8080, [1]]\n", "must be a value or a list of values"),
        ("port:\n  nested: 1\n", "must be a value or a list of values"),
        ("- port\n", "must be a mapping of settings"),
        ("port: 8080\n  host: x: y\n", "is not valid YAML"),
        ("SOCLE_PORT: 8080\n", "unknown settings 'SOCLE_PORT'"),
        ("port: 8080\nport: 8081\n", "duplicated key(s): 'port'"),
    ])
    func aFileThatIsNotSettingsIsRefused(text: String, reason: String) throws {
        let path = try Self.file(text)
        defer { Self.remove(path) }
        let error = try #require(throws: ConfigurationError.self) { try SettingValues.load(flags: ["SOCLE_CONFIG": path], environment: [:]) }
        #expect(error.description.contains(reason) && error.description.contains(path), "\(error)")
    }

    @Test
    func aMissingFileIsRefused() throws {
        let error = try #require(throws: ConfigurationError.self) {
            try SettingValues.load(flags: ["SOCLE_CONFIG": "/nonexistent/socle.yaml"], environment: [:])
        }
        #expect(error.description.contains("/nonexistent/socle.yaml cannot be read"), "\(error)")
    }

    /// A bad value names the setting, the value and its source; each of these is a value a person might mistype.
    @Test(arguments: [
        ("SOCLE_PORT", "80a", "a port number"), ("SOCLE_PORT", "70000", "a port number"),
        ("SOCLE_DATABASE_POOL_SIZE", "0", "a number of connections"), ("SOCLE_DATABASE_STATEMENT_TIMEOUT", "-1", "a number of seconds"),
        ("SOCLE_AUTH", "oidc", "basic or none"), ("SOCLE_METRICS", "yes", "admin, public or off"),
        ("SOCLE_MAX_BODY_SIZE", "16MB", "a number of bytes"), ("SOCLE_REQUEST_TIMEOUT", "soon", "a number of seconds"),
        ("SOCLE_MAX_CONCURRENT_REQUESTS", "-4", "a whole number"), ("SOCLE_REQUEST_QUEUE_TIMEOUT", "inf", "a number of seconds"),
        ("SOCLE_SHUTDOWN_GRACE_PERIOD", "x", "a number of seconds"), ("SOCLE_FHIR_CONDITIONAL_DELETE", "all", "single or multiple"),
        ("SOCLE_FHIR_REFERENTIAL_INTEGRITY", "yes", "true or false"), ("SOCLE_LOG_LEVEL", "verbose", "trace, debug"),
        ("SOCLE_OTEL_ENDPOINT", "collector:4318", "an http:// or https:// URL"), ("SOCLE_OTEL_PROTOCOL", "grpc", "http/protobuf or http/json"),
        ("SOCLE_OTEL_SAMPLE_RATIO", "2", "a number from 0 to 1"),
        ("SOCLE_TRUSTED_PROXIES", "proxy.example", "is not an IP address"), ("SOCLE_USERS", "alice", "is not name:password"),
        ("SOCLE_ACCESS_TRACE", "yes", "on or off"), ("SOCLE_ACCESS_TRACE_RETENTION_DAYS", "-1", "a whole number of days"),
        ("SOCLE_CARE_RELATIONSHIPS", "encounter", "off or careteam"), ("SOCLE_OIDC_USERINFO", "yes", "on or off"),
        ("SOCLE_MAPPINGS", "", "a folder of FHIRconnect mapping files"),
    ])
    func aBadValueIsRefusedNamingItsSource(name: String, value: String, expected: String) throws {
        let error = try #require(throws: ConfigurationError.self) {
            try ServerConfiguration(settings: SettingValues(environment: [name: value]))
        }
        #expect(error.description.contains(name) && error.description.contains(expected), "\(error)")
        if !["SOCLE_TRUSTED_PROXIES", "SOCLE_USERS"].contains(name) {
            #expect(error.description.contains("'\(value)' (from the environment)"), "\(error)")
            let path = try Self.file("\(name.dropFirst(6).lowercased()): \"\(value)\"\n")
            defer { Self.remove(path) }
            let fromFile = try #require(throws: ConfigurationError.self) {
                try ServerConfiguration(settings: SettingValues.load(flags: ["SOCLE_CONFIG": path], environment: [:]))
            }
            #expect(fromFile.description.contains("(from the file \(path))"), "\(fromFile)")
        }
    }

    @Test
    func theReportMasksSecretsAndSaysWhereEachValueCameFrom() throws {
        let path = try Self.file("users: alice:very-secret:admin,bob:also:secret:user\n")
        defer { Self.remove(path) }
        let settings = try SettingValues.load(
            flags: ["SOCLE_CONFIG": path], environment: ["SOCLE_DATABASE_URL": "postgres://socle:pg-password@db.example:5432/socle"])
        let report = ConfigurationReport.text(settings)
        #expect(!report.contains("very-secret") && !report.contains("pg-password") && !report.contains("also:secret"), "\(report)")
        #expect(report.contains("alice:****:admin,bob:****:user"), "\(report)")
        #expect(report.contains("postgres://socle:****@db.example:5432/socle"), "\(report)")
        let port = try #require(report.split(separator: "\n").first { $0.hasPrefix("SOCLE_PORT ") })
        #expect(port.contains("8080") && port.hasSuffix("default"), "\(port)")
        let users = try #require(report.split(separator: "\n").first { $0.hasPrefix("SOCLE_USERS ") })
        #expect(users.hasSuffix("file \(path)"), "\(users)")
        #expect(report.contains("SOCLE_DATABASE_POOL_SIZE") && report.contains("(not set)"))
    }

    /// README's configuration table is the list of settings: the same names,
    /// the same flags, and each fixed default as the code has it.
    @Test
    func readmeListsExactlyTheSettings() throws {
        let readme = try String(contentsOf: Corpus.repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        var rows: [String: (flag: String, defaultValue: String)] = [:]
        for line in readme.split(separator: "\n") where line.hasPrefix("| `SOCLE_") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            let name = cells[1].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            rows[name] = (cells[2], cells[3])
        }
        let documented = Set(rows.keys.filter { !$0.hasPrefix("SOCLE_TEST_") })
        #expect(documented == Set(Settings.all.map(\.name)), "README only: \(documented.subtracting(Settings.all.map(\.name))); code only: \(Set(Settings.all.map(\.name)).subtracting(documented))")
        for setting in Settings.all {
            guard let row = rows[setting.name] else { continue }
            #expect(row.flag == (setting.flag.map { "`\($0)`" } ?? "—"), "\(setting.name) flag: \(row.flag)")
            if let value = setting.defaultValue {
                #expect(row.defaultValue.hasPrefix("`\(value)`"), "\(setting.name) default: \(row.defaultValue), code \(value)")
            }
        }
    }

    /// Every `SOCLE_*` name the sources spell is a setting of the list (or a prefix of several).
    @Test
    func theSourcesReadNoSettingOutsideTheList() throws {
        let names = Set(Settings.all.map(\.name))
        let sources = Corpus.files(below: Corpus.repositoryRoot.appendingPathComponent("Sources"), withExtension: "swift")
        let pattern = try NSRegularExpression(pattern: "SOCLE_[A-Z0-9_]*[A-Z0-9]")
        var unknown: Set<String> = []
        for file in sources {
            let text = try String(contentsOf: file, encoding: .utf8)
            for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                let name = String(text[Range(match.range, in: text)!])
                if !names.contains(name) && !names.contains(where: { $0.hasPrefix(name + "_") }) { unknown.insert(name) }
            }
        }
        #expect(unknown.isEmpty, "\(unknown.sorted())")
    }

    @Test
    func urlPasswordsAndUserPasswordsAreMasked() {
        #expect(Settings.databaseURL.masked("postgres://u:p@h/d") == "postgres://u:****@h/d")
        #expect(Settings.databaseURL.masked("postgres://u@h/d") == "postgres://u@h/d")
        #expect(Settings.databaseURL.masked("sqlite:./x.sqlite") == "sqlite:./x.sqlite")
        #expect(Settings.users.masked("a:b,c:d:e:admin") == "a:****,c:****:admin")
    }
}
