import Foundation
import HTTPTypes
import HummingbirdBcrypt
import JSONCore
import OpenEHR
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
            // Tags go with what they tag, their log too.
            for ehr in [kept, erased] {
                let status = try ItemTagRoutesTests.uid(try await server.send(.get, "/openehr/v1/ehr/\(ehr)/ehr_status"))
                let tagged = try await server.send(.put, "/openehr/v1/ehr/\(ehr)/ehr_status/\(status.objectID)/tags", body: #"[{"key": "flag"}]"#)
                #expect(tagged.status == .noContent)
            }
            #expect(try await server.database.rowCounts(ehrID: erased)["item_tag"] == 1)
            #expect(try await server.database.rowCounts(ehrID: erased)["item_tag_log"] == 1)
            let keptRows = try await server.database.rowCounts(ehrID: kept)
            // Two EHR_STATUS versions and the EHR_ACCESS.
            #expect(try await server.database.rowCounts(ehrID: erased)["object_version"] == 3)

            #expect(try await server.send(.delete, "/admin/ehr/\(erased)", as: TestServer.clinician).status == .forbidden)
            let reply = try await server.send(.delete, "/admin/ehr/\(erased)")
            #expect(reply.status == .noContent)

            let rows = try await server.database.rowCounts(ehrID: erased)
            for table in Migrations.ehrTables { #expect(rows[table] == 0, "\(table) still has rows") }
            #expect(rows["erasure_log"] == 1)
            #expect(try await server.database.rowCounts(ehrID: kept) == keptRows)
            let log = try await server.database.store.versions.erasures(ehrID: erased)
            #expect(log.first?.erasedBy == "alice")
            #expect(log.first?.versionsErased == 3)

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
        let hashed = User(name: "carol", password: Bcrypt.hash("carol-secret", cost: 4), role: .clinician)
        try await TestServer.with(engine, users: [TestServer.admin, hashed]) { server in
            let none = try await server.send(.post, "/openehr/v1/ehr", as: nil)
            #expect(none.status == .unauthorized)
            #expect(none.headers[.wwwAuthenticate]?.hasPrefix("Basic realm=") == true)
            let wrong = try await server.send(.post, "/openehr/v1/ehr", as: User(name: "alice", password: "guess", role: .clinician))
            #expect(wrong.status == .unauthorized)
            let unknown = try await server.send(.post, "/openehr/v1/ehr", as: User(name: "mallory", password: "x", role: .clinician))
            #expect(unknown.status == .unauthorized)
            let garbage = try await server.send(.get, "/openehr/v1/ehr/\(UUID().uuidString)", as: nil, headers: ["Authorization": "Basic !!!"])
            #expect(garbage.status == .unauthorized)
            #expect(try await server.send(.post, "/openehr/v1/ehr", as: User(name: "carol", password: "carol-secret", role: .clinician)).status == .created)
            // Cached after the first bcrypt check; a wrong password still fails.
            #expect(try await server.send(.post, "/openehr/v1/ehr", as: User(name: "carol", password: "carol-secret", role: .clinician)).status == .created)
            #expect(try await server.send(.post, "/openehr/v1/ehr", as: User(name: "carol", password: "carol-secreT", role: .clinician)).status == .unauthorized)
            #expect(try await server.send(.delete, "/admin/ehr/\(UUID().uuidString)", as: User(name: "carol", password: "carol-secret", role: .clinician)).status == .forbidden)
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
        let users = try User.parseList("alice:pw:admin, bob:p:a:ss ,carol:$2b$12$abcdefghijklmnopqrstuv:user,dan:x:admin+researcher")
        #expect(users.map(\.name) == ["alice", "bob", "carol", "dan"])
        #expect(users.map(\.roles) == [[.admin], [.clinician], [.clinician], [.admin, .researcher]])
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
        // An OpenID Connect issuer: https (http on loopback only), and an audience.
        var configuration = ServerConfiguration()
        configuration.oidc = OIDCSettings(issuer: "http://auth.example", audience: "socle")
        #expect(throws: ConfigurationError.self) { try configuration.validate() }
        configuration.oidc = OIDCSettings(issuer: "https://auth.example", audience: "")
        #expect(throws: ConfigurationError.self) { try configuration.validate() }
        configuration.oidc = OIDCSettings(issuer: "http://127.0.0.1:8081/realms/test", audience: "socle")
        try configuration.validate()
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

@Suite("Admin API: the change sequence")
struct ChangesRoutesTests {
    /// GET /admin/changes?after=N&limit=M: positions in order, each
    /// contribution with its versions, erasures included; admin only.
    @Test(arguments: TestEngine.available)
    func changesArePagedInOrder(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let first = try await server.createEHR()
            let etag = try #require(try await server.send(.get, "/openehr/v1/ehr/\(first)/ehr_status").eTag)
            try await server.send(.put, "/openehr/v1/ehr/\(first)/ehr_status", headers: ["If-Match": etag], body: statusJSON())
            let second = try await server.createEHR()
            #expect(try await server.send(.get, "/admin/changes", as: TestServer.clinician).status == .forbidden)

            let page = try await server.send(.get, "/admin/changes?after=0&limit=2")
            #expect(page.status == .ok, "\(page.body)")
            let changes = try #require(page.json["changes"]?.arrayValue)
            #expect(changes.map { $0["position"] } == [1, 2])
            #expect(changes.map { $0["ehr_id"]?.stringValue } == [first, first])
            #expect(changes[1]["versions"]?.arrayValue?.first?["type"] == "EHR_STATUS")
            #expect(changes[1]["versions"]?.arrayValue?.first?["version"] == 2)
            #expect(changes[1]["versions"]?.arrayValue?.first?["change_type"] == "251")
            #expect(page.json["next"] == 2 && page.json["more"] == true)

            #expect(try await server.send(.delete, "/admin/ehr/\(first)").status == .noContent)
            let rest = try await server.send(.get, "/admin/changes?after=2")
            let later = try #require(rest.json["changes"]?.arrayValue)
            #expect(later.map { $0["position"] } == [3, 4])
            #expect(later.map { $0["ehr_id"]?.stringValue } == [second, first])
            #expect(later.last?["type"] == "erasure" && later.last?["versions"] == nil)
            #expect(rest.json["more"] == false)
            // The erased EHR's contributions are no longer in the sequence.
            #expect(try await server.send(.get, "/admin/changes?after=0").json["changes"]?.arrayValue?.map { $0["position"] } == [3, 4])

            for bad in ["after=-1", "after=x", "limit=0", "limit=1001"] {
                let reply = try await server.send(.get, "/admin/changes?\(bad)")
                #expect(reply.status == .badRequest, "\(bad): \(reply.body)")
            }
        }
    }
}
