import ArgumentParser
import Foundation
import Logging
import Server
import Services
import Storage

@main
struct Socle: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "socle",
        abstract: "Socle: one governed clinical data repository (openEHR, FHIR R4, OMOP).",
        version: SocleServer.version,
        subcommands: [Serve.self, ConfigCommand.self, Seed.self, Reindex.self, Import.self, FHIRCommand.self, Backup.self, Restore.self, Verify.self, Audit.self, MappingsCommand.self, Bench.self])
}

/// The settings, a `ConfigurationError` (a bad value, an unknown file key) becoming the command's usage error.
func settingValues(flags: [String: String]) throws -> SettingValues {
    do {
        return try SettingValues.load(flags: flags, environment: ProcessInfo.processInfo.environment)
    } catch {
        throw ValidationError(error.description)
    }
}

func configuration(_ settings: SettingValues) throws -> ServerConfiguration {
    do {
        return try ServerConfiguration(settings: settings)
    } catch {
        throw ValidationError(error.description)
    }
}

/// Logs to standard error at `level`; with tracing on, each line also
/// carries its request's trace and span ids.
func bootstrapLogging(level: Logger.Level, traced: Bool = false) -> Logger {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label, metadataProvider: traced ? SocleTracing.loggingMetadata : nil)
        handler.logLevel = level
        return handler
    }
    return Logger(label: "socle")
}

/// The flags of `socle serve`, which `socle config check` takes too.
struct ServeOptions: ParsableArguments {
    @Option(help: "Address to listen on (SOCLE_HOST, default 127.0.0.1).") var host: String?
    @Option(help: "Port to listen on (SOCLE_PORT, default 8080).") var port: String?
    @OptionGroup var database: DatabaseOptions
    @Option(name: .customLong("system-id"), help: "System id used in version uids (SOCLE_SYSTEM_ID, default socle.local).")
    var systemID: String?
    @Flag(name: .customLong("no-auth"), help: "Turn authentication off (SOCLE_AUTH=none); loopback addresses only.")
    var noAuth = false
    @Option(name: .customLong("trusted-proxies"), help: "Proxies whose Forwarded / X-Forwarded-* headers are believed: IPs or CIDR networks, comma-separated (SOCLE_TRUSTED_PROXIES).")
    var trustedProxies: String?
    @Option(help: "A folder of FHIRconnect mapping files to load (SOCLE_MAPPINGS).") var mappings: String?

    var flags: [String: String] {
        var flags = database.flags
        flags[Settings.host.name] = host
        flags[Settings.port.name] = port
        flags[Settings.systemID.name] = systemID
        flags[Settings.trustedProxies.name] = trustedProxies
        flags[Settings.mappings.name] = mappings
        if noAuth { flags[Settings.auth.name] = "none" }
        return flags
    }

    /// The settings and the configuration they give, checked (`ServerConfiguration.validate`).
    func configuration() throws -> (SettingValues, ServerConfiguration) {
        let settings = try settingValues(flags: flags)
        let configuration = try socle.configuration(settings)
        do {
            try configuration.validate()
        } catch {
            throw ValidationError(error.description)
        }
        return (settings, configuration)
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the openEHR REST API, the FHIR API and the admin API.")

    @OptionGroup var options: ServeOptions

    func run() async throws {
        var (_, configuration) = try options.configuration()
        let logger = bootstrapLogging(level: configuration.logLevel, traced: configuration.tracing != nil)
        if case .basic(let users) = configuration.authentication, users.isEmpty, configuration.oidc == nil {
            let password = Self.randomPassword()
            configuration.authentication = .basic([User(name: "admin", password: password, roles: [.admin, .clinician])])
            FileHandle.standardError.write(Data("No SOCLE_USERS set: for this run, sign in as user 'admin' with password '\(password)'.\n".utf8))
        }
        try await SocleServer.serve(configuration, logger: logger)
    }

    static func randomPassword() -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<20).map { _ in alphabet.randomElement(using: &generator)! })
    }
}

/// `socle config check`: reads the settings as `socle serve` would, prints
/// each with its value (passwords masked) and where it came from, and
/// fails with the reason when one is refused.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "config", abstract: "Configuration.", subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the effective configuration (secrets masked) and check it.")

        @OptionGroup var options: ServeOptions

        func run() async throws {
            let (settings, _) = try options.configuration()
            print(ConfigurationReport.text(settings))
        }
    }
}

/// The database settings every command that opens one takes.
/// The options of a command that writes to the store outside the server
/// (`socle import fhir`, `socle fhir load-package`): the database and the
/// system id of the audit.
struct StoreOptions: ParsableArguments {
    @OptionGroup var database: DatabaseOptions
    @Option(name: .customLong("system-id"), help: "System id of the audit (SOCLE_SYSTEM_ID, default socle.local).") var systemID: String?
    @Option(help: "A folder of FHIRconnect mapping files: resources they take are stored as compositions (SOCLE_MAPPINGS).") var mappings: String?

    /// The store opened and prepared as `socle serve` opens it, with the same
    /// FHIR settings (`SOCLE_FHIR_*`) and mappings, logging warnings only.
    func open(_ label: String) async throws -> SocleServer.Components {
        var logger = Logger(label: label)
        logger.logLevel = .warning
        var flags = database.flags
        flags[Settings.systemID.name] = systemID
        flags[Settings.mappings.name] = mappings
        let settings = try settingValues(flags: flags)
        let (url, databaseSettings) = try DatabaseOptions.resolved(settings)
        var configuration = ServerConfiguration(
            databaseURL: url, systemID: settings.value(Settings.systemID)?.value ?? "socle.local", database: databaseSettings)
        do {
            try configuration.readFHIRSettings(settings)
            configuration.mappings = MappingSource.setting(settings.value(Settings.mappings)?.value)
        } catch {
            throw ValidationError(error.description)
        }
        return try await SocleServer.open(configuration, logger: logger)
    }
}

struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database"), help: "sqlite:PATH or postgres://user:password@host:port/db[?sslmode=…] (SOCLE_DATABASE_URL).")
    var databaseURL: String?
    @Option(name: .customLong("pool-size"), help: "Database connections (PostgreSQL) or read connections (SQLite) (SOCLE_DATABASE_POOL_SIZE; 16, 5).")
    var poolSize: String?
    @Option(name: .customLong("statement-timeout"), help: "Seconds a statement may run, 0 for no limit (SOCLE_DATABASE_STATEMENT_TIMEOUT, default 60).")
    var statementTimeout: String?

    @Option(name: .customLong("config"), help: "A configuration file, YAML or JSON, of settings by their names without SOCLE_ in lower case (SOCLE_CONFIG).")
    var config: String?

    var flags: [String: String] {
        var flags: [String: String] = [:]
        flags[Settings.config.name] = config
        flags[Settings.databaseURL.name] = databaseURL
        flags[Settings.poolSize.name] = poolSize
        flags[Settings.statementTimeout.name] = statementTimeout
        return flags
    }

    /// The database URL and its settings, from one reading of the flags, the environment and the file.
    func resolved() throws -> (url: String, settings: DatabaseSettings) {
        try Self.resolved(try settingValues(flags: flags))
    }

    static func resolved(_ values: SettingValues) throws -> (url: String, settings: DatabaseSettings) {
        do {
            return (values.value(Settings.databaseURL)?.value ?? ServerConfiguration.defaultDatabaseURL, try ServerConfiguration.databaseSettings(values))
        } catch {
            throw ValidationError(error.description)
        }
    }
}
