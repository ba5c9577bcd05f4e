import Foundation
import HTTPTypes
import JSONCore
import Server
import SocleTestSupport
import Testing

/// The paths and URLs existing clients expect: the API under `/rest` as
/// EHRbase serves it (one route table), and absolute URLs as the client
/// addressed Socle, through trusted proxies only.
@Suite("Client paths and public URLs")
struct ClientPathsTests {
    @Test(arguments: TestEngine.available)
    func theAPIIsAlsoUnderRest(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            #expect(try await server.send(.get, "/rest/status", as: nil).json["schema_version"] != nil)
            let created = try await server.send(.post, "/rest/openehr/v1/ehr")
            #expect(created.status == .created)
            let location = try #require(created.headers[.location])
            #expect(location.contains("/rest/openehr/v1/ehr/"), "\(location)")
            let id = String(location.split(separator: "/").last ?? "")
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(id)").status == .ok)
            #expect(try await server.send(.get, "/rest/openehr/v1/ehr/\(id)", as: nil).status == .unauthorized)
            #expect(try await server.send(.get, "/rest/admin/changes").status == .ok)
            // Without /rest, the URLs are the root's.
            let plain = try await server.send(.post, "/openehr/v1/ehr")
            #expect(plain.headers[.location]?.contains("/rest/") == false)
        }
    }

    /// `Forwarded` (RFC 7239) and `X-Forwarded-*` make the URLs only when the
    /// peer is a trusted proxy (`SOCLE_TRUSTED_PROXIES`).
    @Test(arguments: [TestEngine.sqlite])
    func forwardingHeadersFromTrustedProxiesOnly(engine: TestEngine) async throws {
        let forwarded = ["X-Forwarded-Proto": "https", "X-Forwarded-Host": "ehr.hopital.example", "X-Forwarded-Port": "8443"]
        try await TestServer.with(engine, trustedProxies: try TrustedProxies("10.0.0.0/8, 127.0.0.1"), live: true) { server in
            let reply = try await server.send(.post, "/openehr/v1/ehr", headers: forwarded)
            #expect(reply.headers[.location]?.hasPrefix("https://ehr.hopital.example:8443/openehr/v1/ehr/") == true, "\(reply.headers[.location] ?? "")")
            let rfc = try await server.send(.post, "/rest/openehr/v1/ehr", headers: ["Forwarded": "for=192.0.2.60;proto=https;host=ehr.example"])
            #expect(rfc.headers[.location]?.hasPrefix("https://ehr.example/rest/openehr/v1/ehr/") == true, "\(rfc.headers[.location] ?? "")")
        }
        try await TestServer.with(engine, trustedProxies: try TrustedProxies("10.0.0.0/8"), live: true) { server in
            let reply = try await server.send(.post, "/openehr/v1/ehr", headers: forwarded)
            #expect(reply.headers[.location]?.hasPrefix("http://") == true && reply.headers[.location]?.contains("hopital") == false)
        }
        #expect(throws: ConfigurationError.self) { try TrustedProxies("10.0.0.0/33") }
        #expect(throws: ConfigurationError.self) { try TrustedProxies("proxy.example") }
        #expect(try TrustedProxies("::1, fd00::/8").trusts(try .init(ipAddress: "fd12::1", port: 1)))
    }
}
