import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import OpenEHR
import Server
import ServiceLifecycle

/// A Socle server started in this process for a benchmark, on a fresh
/// SQLite file unless a database URL is given, with an HTTP client to it.
final class BenchServer: Sendable {
    let components: SocleServer.Components
    let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(connectionPool: .init(idleTimeout: .seconds(60))))
    let base: String
    let authorization: String
    let group: ServiceGroup
    let task: Task<Void, any Error>
    let folder: URL

    /// - Parameters:
    ///   - authorization: the Authorization header sent; HTTP Basic of the bench user by default.
    ///   - configure: changes to the configuration (the access trace off, an issuer of bearer tokens).
    init(
        database: String?, port: Int, authorization: String = "Basic " + Data("bench:bench-password".utf8).base64EncodedString(),
        configure: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws {
        self.authorization = authorization
        var logger = Logger(label: "socle.bench")
        logger.logLevel = .warning
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("socle-bench-\(UUIDText.random())")
        var configuration = ServerConfiguration(
            host: "127.0.0.1", port: port, databaseURL: database ?? "sqlite:\(folder.path)/bench.sqlite", systemID: "bench.socle",
            authentication: .basic([User(name: "bench", password: "bench-password", roles: [.admin, .clinician])]))
        configuration.accessTrace.keyPath = folder.appendingPathComponent("trace.key").path
        configure(&configuration)
        components = try await SocleServer.open(configuration, logger: logger)
        let app = SocleServer.application(components, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        self.group = group
        task = Task { try await group.run() }
        base = "http://127.0.0.1:\(port)"
        try await Task.sleep(for: .milliseconds(500))
    }

    /// Sends a request and returns its status and body; throws unless `expected`.
    @discardableResult
    func send(
        _ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, contentType: String = "application/json", expected: UInt, prefer: String? = nil
    ) async throws -> ByteBuffer {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        request.headers.add(name: "Authorization", value: authorization)
        if let prefer { request.headers.add(name: "Prefer", value: prefer) }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await client.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        guard response.status.code == expected else {
            throw BenchError("\(method) \(path) answered \(response.status.code): \(String(buffer: bytes).prefix(300))")
        }
        return bytes
    }

    func stop() async throws {
        try await client.shutdown()
        await group.triggerGracefulShutdown()
        // The service group closed the database after the server drained.
        try await task.value
        try? FileManager.default.removeItem(at: folder)
    }
}
