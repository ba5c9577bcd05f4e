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
        subcommands: [Serve.self, Seed.self, Reindex.self, Import.self, FHIRCommand.self, Backup.self, Restore.self, Verify.self, Bench.self])
}

/// Reads a setting from its flag, else its `SOCLE_*` variable, else the default.
func setting(_ flag: String?, _ variable: String, _ fallback: String) -> String {
    flag ?? ProcessInfo.processInfo.environment[variable] ?? fallback
}

func bootstrapLogging() -> Logger {
    let level = Logger.Level(rawValue: ProcessInfo.processInfo.environment["SOCLE_LOG_LEVEL"] ?? "info") ?? .info
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
    return Logger(label: "socle")
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the openEHR REST API and the admin API.")

    @Option(help: "Address to listen on (SOCLE_HOST, default 127.0.0.1).") var host: String?
    @Option(help: "Port to listen on (SOCLE_PORT, default 8080).") var port: Int?
    @OptionGroup var database: DatabaseOptions
    @Option(name: .customLong("system-id"), help: "System id used in version uids (SOCLE_SYSTEM_ID, default socle.local).")
    var systemID: String?
    @Flag(name: .customLong("no-auth"), help: "Turn authentication off (SOCLE_AUTH=none); loopback addresses only.")
    var noAuth = false
    @Option(name: .customLong("trusted-proxies"), help: "Proxies whose Forwarded / X-Forwarded-* headers are believed: IPs or CIDR networks, comma-separated (SOCLE_TRUSTED_PROXIES).")
    var trustedProxies: String?

    func run() async throws {
        let logger = bootstrapLogging()
        let environment = ProcessInfo.processInfo.environment
        let portText = port.map(String.init) ?? environment["SOCLE_PORT"] ?? "8080"
        guard let port = Int(portText) else { throw ValidationError("SOCLE_PORT '\(portText)' is not a number") }
        var configuration = ServerConfiguration(
            host: setting(host, "SOCLE_HOST", "127.0.0.1"), port: port,
            databaseURL: database.url, systemID: setting(systemID, "SOCLE_SYSTEM_ID", "socle.local"), database: try database.settings())
        do {
            configuration.trustedProxies = try TrustedProxies(setting(trustedProxies, "SOCLE_TRUSTED_PROXIES", ""))
        } catch {
            throw ValidationError(error.description)
        }
        let authMode = environment["SOCLE_AUTH"] ?? "basic"
        guard ["basic", "none"].contains(authMode) else { throw ValidationError("SOCLE_AUTH must be basic or none, not '\(authMode)'") }
        if noAuth || authMode == "none" {
            configuration.authentication = .none
        } else {
            var users = try User.parseList(environment["SOCLE_USERS"] ?? "")
            if users.isEmpty {
                let password = Self.randomPassword()
                users = [User(name: "admin", password: password, role: .admin)]
                FileHandle.standardError.write(
                    Data("No SOCLE_USERS set: for this run, sign in as user 'admin' with password '\(password)'.\n".utf8))
            }
            configuration.authentication = .basic(users)
        }
        try configuration.readFHIRSettings(environment)
        let metrics = environment["SOCLE_METRICS"] ?? "admin"
        guard let access = MetricsAccess(rawValue: metrics) else { throw ValidationError("SOCLE_METRICS must be admin, public or off, not '\(metrics)'") }
        configuration.metrics = access
        let concurrent = environment["SOCLE_MAX_CONCURRENT_REQUESTS"] ?? "0"
        guard let bound = Int(concurrent), bound >= 0 else { throw ValidationError("SOCLE_MAX_CONCURRENT_REQUESTS must be a whole number, 0 for no bound, not '\(concurrent)'") }
        configuration.maximumConcurrentRequests = bound
        let queue = environment["SOCLE_REQUEST_QUEUE_TIMEOUT"] ?? "30"
        guard let seconds = Double(queue), seconds >= 0 else { throw ValidationError("SOCLE_REQUEST_QUEUE_TIMEOUT must be a number of seconds, not '\(queue)'") }
        configuration.requestQueueTimeout = .milliseconds(Int64(seconds * 1000))
        do {
            try configuration.validate()
        } catch {
            throw ValidationError(error.description)
        }
        try await SocleServer.serve(configuration, logger: logger)
    }

    static func randomPassword() -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<20).map { _ in alphabet.randomElement(using: &generator)! })
    }
}

/// The database settings every command that opens one takes.
/// The options of a command that writes to the store outside the server
/// (`socle import fhir`, `socle fhir load-package`): the database and the
/// system id of the audit.
struct StoreOptions: ParsableArguments {
    @OptionGroup var database: DatabaseOptions
    @Option(name: .customLong("system-id"), help: "System id of the audit (SOCLE_SYSTEM_ID, default socle.local).") var systemID: String?

    /// The store opened and prepared as `socle serve` opens it, with the same
    /// FHIR settings (`SOCLE_FHIR_*`), logging warnings only.
    func open(_ label: String) async throws -> SocleServer.Components {
        var logger = Logger(label: label)
        logger.logLevel = .warning
        var configuration = ServerConfiguration(
            databaseURL: database.url, systemID: setting(systemID, "SOCLE_SYSTEM_ID", "socle.local"), database: try database.settings())
        try configuration.readFHIRSettings(ProcessInfo.processInfo.environment)
        return try await SocleServer.open(configuration, logger: logger)
    }
}

extension ServerConfiguration {
    /// `SOCLE_FHIR_REFERENTIAL_INTEGRITY` and `SOCLE_FHIR_CONDITIONAL_DELETE`, for
    /// every command that writes FHIR resources.
    mutating func readFHIRSettings(_ environment: [String: String]) throws {
        let integrity = environment["SOCLE_FHIR_REFERENTIAL_INTEGRITY"] ?? "true"
        guard ["true", "false"].contains(integrity) else {
            throw ValidationError("SOCLE_FHIR_REFERENTIAL_INTEGRITY must be true or false, not '\(integrity)'")
        }
        fhirReferentialIntegrity = integrity == "true"
        let conditionalDelete = environment["SOCLE_FHIR_CONDITIONAL_DELETE"] ?? "single"
        guard let deletion = FHIRService.ConditionalDelete(rawValue: conditionalDelete) else {
            throw ValidationError("SOCLE_FHIR_CONDITIONAL_DELETE must be single or multiple, not '\(conditionalDelete)'")
        }
        fhirConditionalDelete = deletion
    }
}

struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database"), help: "sqlite:PATH or postgres://user:password@host:port/db[?sslmode=…] (SOCLE_DATABASE_URL).")
    var databaseURL: String?
    @Option(name: .customLong("pool-size"), help: "Database connections (PostgreSQL) or read connections (SQLite) (SOCLE_DATABASE_POOL_SIZE; 16, 5).")
    var poolSize: Int?
    @Option(name: .customLong("statement-timeout"), help: "Seconds a statement may run, 0 for no limit (SOCLE_DATABASE_STATEMENT_TIMEOUT, default 60).")
    var statementTimeout: Double?

    var url: String { setting(databaseURL, "SOCLE_DATABASE_URL", ServerConfiguration.defaultDatabaseURL) }

    func settings() throws -> DatabaseSettings {
        let environment = ProcessInfo.processInfo.environment
        var size = poolSize
        if size == nil, let text = environment["SOCLE_DATABASE_POOL_SIZE"] {
            guard let value = Int(text) else { throw ValidationError("SOCLE_DATABASE_POOL_SIZE '\(text)' is not a number") }
            size = value
        }
        var timeout = statementTimeout
        if timeout == nil, let text = environment["SOCLE_DATABASE_STATEMENT_TIMEOUT"] {
            guard let value = Double(text) else { throw ValidationError("SOCLE_DATABASE_STATEMENT_TIMEOUT '\(text)' is not a number of seconds") }
            timeout = value
        }
        let seconds = timeout ?? 60
        guard seconds >= 0 else { throw ValidationError("the statement timeout must not be negative") }
        return DatabaseSettings(poolSize: size, statementTimeout: seconds == 0 ? nil : .milliseconds(Int64(seconds * 1000)))
    }
}
