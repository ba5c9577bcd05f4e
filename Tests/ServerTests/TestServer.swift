import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JSONCore
import Logging
import NIOCore
import Server
import Services
import SocleTestSupport
import Storage

/// Socle's router over a fresh test database, driven without sockets.
struct TestServer {
    /// Every role but patient: the tests' set-up user, held by no care relationship (integration).
    static let admin = User(name: "alice", password: "alice-secret", roles: [.admin, .clinician, .integration])
    static let clinician = User(name: "bob", password: "bob-secret", role: .clinician)

    let client: any TestClientProtocol
    let database: TestDatabase
    /// The access trace the server writes.
    var accessTrace: AccessTrace? = nil
    /// The server's services (`with` only), for tests that drive them beside the API.
    var components: SocleServer.Components? = nil

    /// - Parameter live: over a real socket on 127.0.0.1 (the peer address
    ///   matters: trusted proxies), rather than straight into the router.
    static func with(
        _ engine: TestEngine, users: [User] = [admin, clinician], systemID: String = "socle.test", trustedProxies: TrustedProxies = .none,
        live: Bool = false, metrics: MetricsAccess = .admin, maximumConcurrentRequests: Int = 0,
        configure: @Sendable (inout ServerConfiguration) -> Void = { _ in }, _ body: @Sendable (TestServer) async throws -> Void
    ) async throws {
        var configuration = ServerConfiguration(systemID: systemID, authentication: .basic(users), trustedProxies: trustedProxies)
        let keyFolder = Self.keyFolder()
        defer { try? FileManager.default.removeItem(at: keyFolder) }
        configuration.accessTrace.keyPath = keyFolder.appendingPathComponent("trace.key").path
        configuration.metrics = metrics
        configuration.maximumConcurrentRequests = maximumConcurrentRequests
        configure(&configuration)
        // The projections the configuration asks for (the FHIR view of compositions with mappings), as `socle serve` opens them.
        try await TestDatabase.with(engine, projections: try SocleServer.standardProjections(configuration)) { [configuration] database in
            let components = try await SocleServer.open(configuration, store: database.store)
            let logger = Logger(label: "socle.test")
            let app = Application(router: SocleServer.router(components, logger: logger), logger: logger)
            try await app.test(live ? .live : .router) { client in
                try await body(TestServer(client: client, database: database, accessTrace: components.accessTrace, components: components))
            }
        }
    }

    /// Two Socle nodes on one database: each its own connections, its own
    /// services and kept templates, as two `socle serve` processes would.
    static func pair(
        _ engine: TestEngine, users: [User] = [admin, clinician], _ body: @Sendable (TestServer, TestServer) async throws -> Void
    ) async throws {
        try await TestDatabase.with(engine) { database in
            let logger = Logger(label: "socle.test")
            let second: any SQLDatabase
            switch engine {
            case .sqlite: second = try SQLiteDatabase(path: String(database.url.dropFirst("sqlite:".count)))
            case .postgresql:
                guard let url = try PostgresURL(database.url) else { throw TestDatabaseError("not a PostgreSQL URL") }
                second = try PostgreSQLDatabase(url: url, searchPath: database.schema, logger: logger)
            }
            defer { Task { try? await second.close() } }
            var configuration = ServerConfiguration(systemID: "socle.test", authentication: .basic(users))
            let keyFolder = Self.keyFolder()
            defer { try? FileManager.default.removeItem(at: keyFolder) }
            configuration.accessTrace.keyPath = keyFolder.appendingPathComponent("trace.key").path
            let a = try await SocleServer.open(configuration, store: database.store)
            let b = try await SocleServer.open(configuration, store: Store(database: second))
            try await Application(router: SocleServer.router(a, logger: logger), logger: logger).test(.router) { clientA in
                try await Application(router: SocleServer.router(b, logger: logger), logger: logger).test(.router) { clientB in
                    try await body(TestServer(client: clientA, database: database), TestServer(client: clientB, database: database))
                }
            }
        }
    }

    /// A folder of the test's own for the access trace's key file; the caller removes it.
    static func keyFolder() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("socle-test-key-\(UUID().uuidString)")
    }

    static func authorization(_ user: User) -> String {
        "Basic " + Data("\(user.name):\(user.password)".utf8).base64EncodedString()
    }

    /// Sends a request as `user` (nil: no credentials) and returns the response.
    @discardableResult
    func send(
        _ method: HTTPRequest.Method, _ uri: String, as user: User? = TestServer.admin, headers: [String: String] = [:], body: String? = nil
    ) async throws -> Reply {
        var fields = HTTPFields()
        if let user { fields[.authorization] = Self.authorization(user) }
        if body != nil { fields[.contentType] = "application/json" }
        for (name, value) in headers { fields[HTTPField.Name(name)!] = value }
        return try await client.execute(
            uri: uri, method: method, headers: fields, body: body.map { ByteBuffer(string: $0) }
        ) { response in
            Reply(status: response.status, headers: response.headers, body: String(buffer: response.body))
        }
    }

    /// Sends a request with exactly these header fields (a name may repeat).
    @discardableResult
    func send(_ method: HTTPRequest.Method, _ uri: String, fields: HTTPFields, body: String? = nil) async throws -> Reply {
        try await client.execute(uri: uri, method: method, headers: fields, body: body.map { ByteBuffer(string: $0) }) { response in
            Reply(status: response.status, headers: response.headers, body: String(buffer: response.body))
        }
    }

    /// The port of a live server (`live: true`).
    var port: Int? { client.port }

    /// Creates an EHR and returns its id.
    func createEHR(_ body: String? = nil) async throws -> String {
        let reply = try await send(.post, "/openehr/v1/ehr", body: body)
        guard reply.status == .created, let location = reply.headers[.location] else {
            throw TestDatabaseError("EHR creation answered \(reply.status): \(reply.body)")
        }
        return String(location.split(separator: "/").last ?? "")
    }
}

struct Reply: Sendable {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var body: String

    var json: JSON { (try? JSONParser.parse(body)) ?? .null }

    /// The ETag without its quotes.
    var eTag: String? { headers[.eTag].map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) } }

    var problemPaths: [String] {
        json["problems"]?.arrayValue?.compactMap { $0["path"]?.stringValue } ?? []
    }
}

/// An EHR_STATUS with a subject of its own, as JSON text.
func statusJSON(subject: String = UUID().uuidString, namespace: String = "patients", modifiable: Bool = true, queryable: Bool = true) -> String {
    """
    {"_type":"EHR_STATUS","archetype_node_id":"openEHR-EHR-EHR_STATUS.generic.v1","name":{"value":"EHR Status"},
     "subject":{"external_ref":{"id":{"_type":"GENERIC_ID","value":"\(subject)","scheme":"id_scheme"},"namespace":"\(namespace)","type":"PERSON"}},
     "is_modifiable":\(modifiable),"is_queryable":\(queryable)}
    """
}
