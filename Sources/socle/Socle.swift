import ArgumentParser
import Foundation
import Logging
import Server

@main
struct Socle: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "socle",
        abstract: "Socle: one governed clinical data repository (openEHR, FHIR R4, OMOP).",
        version: SocleServer.version,
        subcommands: [Serve.self, Seed.self, Bench.self])
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
    @Option(help: "sqlite:PATH or postgres://user:password@host:port/db (SOCLE_DATABASE_URL).") var database: String?
    @Option(name: .customLong("system-id"), help: "System id used in version uids (SOCLE_SYSTEM_ID, default socle.local).")
    var systemID: String?
    @Flag(name: .customLong("no-auth"), help: "Turn authentication off (SOCLE_AUTH=none); loopback addresses only.")
    var noAuth = false

    func run() async throws {
        let logger = bootstrapLogging()
        let environment = ProcessInfo.processInfo.environment
        let portText = port.map(String.init) ?? environment["SOCLE_PORT"] ?? "8080"
        guard let port = Int(portText) else { throw ValidationError("SOCLE_PORT '\(portText)' is not a number") }
        var configuration = ServerConfiguration(
            host: setting(host, "SOCLE_HOST", "127.0.0.1"), port: port,
            databaseURL: setting(database, "SOCLE_DATABASE_URL", ServerConfiguration.defaultDatabaseURL),
            systemID: setting(systemID, "SOCLE_SYSTEM_ID", "socle.local"))
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
