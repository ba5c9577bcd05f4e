import Foundation
import HTTPTypes
import HummingbirdBcrypt
import JSONCore
import Server
import SocleTestSupport
import Storage
import Testing

@Suite("Admin API: erasure")
struct AdminRoutesTests {
    @Test(arguments: TestEngine.available)
    func erasureRemovesEveryRowAndIsLogged(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let kept = try await server.createEHR(statusJSON())
            let erased = try await server.createEHR(statusJSON())
            let v1 = try #require(try await server.send(.get, "/openehr/v1/ehr/\(erased)/ehr_status").eTag)
            try await server.send(.put, "/openehr/v1/ehr/\(erased)/ehr_status", headers: ["If-Match": v1], body: statusJSON())
            let keptRows = try await server.database.rowCounts(ehrID: kept)
            #expect(try await server.database.rowCounts(ehrID: erased)["object_version"] == 2)

            #expect(try await server.send(.delete, "/admin/ehr/\(erased)", as: TestServer.clinician).status == .forbidden)
            let reply = try await server.send(.delete, "/admin/ehr/\(erased)")
            #expect(reply.status == .noContent)

            let rows = try await server.database.rowCounts(ehrID: erased)
            for table in Migrations.ehrTables { #expect(rows[table] == 0, "\(table) still has rows") }
            #expect(rows["erasure_log"] == 1)
            #expect(try await server.database.rowCounts(ehrID: kept) == keptRows)
            let log = try await server.database.store.versions.erasures(ehrID: erased)
            #expect(log.first?.erasedBy == "alice")
            #expect(log.first?.versionsErased == 2)

            #expect(try await server.send(.get, "/openehr/v1/ehr/\(erased)").status == .notFound)
            #expect(try await server.send(.delete, "/admin/ehr/\(erased)").status == .notFound)
            #expect(try await server.send(.delete, "/admin/ehr/not-a-uuid").status == .badRequest)
            #expect(try await server.database.rowCounts(ehrID: erased)["erasure_log"] == 1)
        }
    }
}

@Suite("Authentication: HTTP Basic")
struct AuthenticationTests {
    @Test(arguments: TestEngine.available)
    func credentialsAreRequiredAndChecked(engine: TestEngine) async throws {
        let hashed = User(name: "carol", password: Bcrypt.hash("carol-secret", cost: 4), role: .user)
        try await TestServer.with(engine, users: [TestServer.admin, hashed]) { server in
            let none = try await server.send(.post, "/openehr/v1/ehr", as: nil)
            #expect(none.status == .unauthorized)
            #expect(none.headers[.wwwAuthenticate]?.hasPrefix("Basic realm=") == true)
            let wrong = try await server.send(.post, "/openehr/v1/ehr", as: User(name: "alice", password: "guess", role: .user))
            #expect(wrong.status == .unauthorized)
            let unknown = try await server.send(.post, "/openehr/v1/ehr", as: User(name: "mallory", password: "x", role: .user))
            #expect(unknown.status == .unauthorized)
            let garbage = try await server.send(.get, "/openehr/v1/ehr/\(UUID().uuidString)", as: nil, headers: ["Authorization": "Basic !!!"])
            #expect(garbage.status == .unauthorized)
            #expect(try await server.send(.post, "/openehr/v1/ehr", as: User(name: "carol", password: "carol-secret", role: .user)).status == .created)
            // Cached after the first bcrypt check; a wrong password still fails.
            #expect(try await server.send(.post, "/openehr/v1/ehr", as: User(name: "carol", password: "carol-secret", role: .user)).status == .created)
            #expect(try await server.send(.post, "/openehr/v1/ehr", as: User(name: "carol", password: "carol-secreT", role: .user)).status == .unauthorized)
            #expect(try await server.send(.delete, "/admin/ehr/\(UUID().uuidString)", as: User(name: "carol", password: "carol-secret", role: .user)).status == .forbidden)
            #expect(try await server.send(.get, "/status", as: nil).status == .ok)
        }
    }

    @Test(arguments: TestEngine.available)
    func theSignedInUserIsTheCommitter(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let reply = try await server.send(.post, "/openehr/v1/ehr", as: TestServer.clinician)
            let ehrID = String(try #require(reply.headers[.location]).split(separator: "/").last!)
            let version = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/versioned_ehr_status/version")
            #expect(version.json["commit_audit"]?["committer"]?["name"]?.stringValue == "bob")
        }
    }

    @Test func parsesTheUserList() throws {
        let users = try User.parseList("alice:pw:admin, bob:p:a:ss ,carol:$2b$12$abcdefghijklmnopqrstuv:user")
        #expect(users.map(\.name) == ["alice", "bob", "carol"])
        #expect(users.map(\.role) == [.admin, .user, .user])
        #expect(users[1].password == "p:a:ss")
        #expect(throws: ConfigurationError.self) { try User.parseList("nopassword") }
        #expect(throws: ConfigurationError.self) { try User.parseList("a:x,a:y") }
        #expect(throws: ConfigurationError.self) { try User.parseList("a:") }
    }

    @Test func noAuthOnlyOnLoopback() throws {
        try ServerConfiguration(host: "127.0.0.1", authentication: .none).validate()
        try ServerConfiguration(host: "localhost", authentication: .none).validate()
        #expect(throws: ConfigurationError.self) { try ServerConfiguration(host: "0.0.0.0", authentication: .none).validate() }
        #expect(throws: ConfigurationError.self) { try ServerConfiguration(host: "10.1.2.3", authentication: .none).validate() }
        try ServerConfiguration(host: "0.0.0.0", authentication: .basic([])).validate()
        #expect(throws: ConfigurationError.self) { try ServerConfiguration(databaseURL: "mysql://x").validate() }
        #expect(throws: ConfigurationError.self) { try ServerConfiguration(systemID: "a::b").validate() }
    }
}

@Suite("Health")
struct StatusRouteTests {
    @Test(arguments: TestEngine.available)
    func statusNamesVersionDatabaseSchemaAndSystem(engine: TestEngine) async throws {
        try await TestServer.with(engine, systemID: "chu-exemple.fr") { server in
            let reply = try await server.send(.get, "/status", as: nil)
            #expect(reply.status == .ok)
            #expect(reply.json["socle_version"]?.stringValue == SocleServer.version)
            #expect(reply.json["database"]?.stringValue == engine.rawValue)
            #expect(reply.json["schema_version"] == JSON(Migrations.latestVersion))
            #expect(reply.json["system_id"]?.stringValue == "chu-exemple.fr")
            #expect(reply.headers[HTTPField.Name("X-Request-Id")!] != nil)
        }
    }
}
