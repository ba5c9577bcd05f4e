import Crypto
import CryptoExtras
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JSONCore
import JWTKit
import Logging
import Server
import SocleTestSupport
import Synchronization
import Testing

/// OpenID Connect bearer tokens (issue 16 §1; RFC 6750, RFC 9068, OpenID
/// Connect Discovery 1.0 §4, RFC 7517): an issuer on 127.0.0.1 publishes
/// its discovery document and keys; tokens it signs are accepted on every
/// surface, and every other token is refused with 401 and
/// `WWW-Authenticate: Bearer error="invalid_token"`.
@Suite("Bearer tokens")
struct BearerTokenTests {
    /// A test identity provider: its keys, what it publishes, and how often it was asked.
    final class Issuer: Sendable {
        let rsa: JWTKit.Insecure.RSA.PrivateKey
        let ec = ES256PrivateKey()
        let rotated: JWTKit.Insecure.RSA.PrivateKey
        let stranger: JWTKit.Insecure.RSA.PrivateKey
        let published = Mutex<[String]>(["rsa", "ec"])
        let fetches = Mutex<Int>(0)
        let signers = JWTKeyCollection()
        /// What the userinfo endpoint answers: its claims, signed as a JWT or
        /// plain JSON, or a status other than 200; and the tokens it was asked with.
        let userinfo = Mutex<(claims: Claims?, signed: Bool, status: HTTPResponse.Status)>((nil, false, .ok))
        let userinfoAsked = Mutex<[String]>([])

        init() async throws {
            rsa = try JWTKit.Insecure.RSA.PrivateKey(backing: _RSA.Signing.PrivateKey(keySize: .bits2048))
            rotated = try JWTKit.Insecure.RSA.PrivateKey(backing: _RSA.Signing.PrivateKey(keySize: .bits2048))
            stranger = try JWTKit.Insecure.RSA.PrivateKey(backing: _RSA.Signing.PrivateKey(keySize: .bits2048))
            await signers.add(rsa: rsa, digestAlgorithm: .sha256, kid: "rsa")
            await signers.add(ecdsa: ec, kid: "ec")
            await signers.add(rsa: rotated, digestAlgorithm: .sha256, kid: "rotated")
            await signers.add(rsa: stranger, digestAlgorithm: .sha256, kid: "stranger")
        }

        /// A token signed by `key` (PSS or PKCS #1 v1.5) whose header names `kid`, whatever key that is.
        func sign(_ claims: Claims, rsa key: JWTKit.Insecure.RSA.PrivateKey, pss: Bool = false, kid: String) async throws -> String {
            let keys = JWTKeyCollection()
            if pss { await keys.add(pss: key, digestAlgorithm: .sha256, kid: JWKIdentifier(string: kid)) }
            else { await keys.add(rsa: key, digestAlgorithm: .sha256, kid: JWKIdentifier(string: kid)) }
            return try await keys.sign(claims, kid: JWKIdentifier(string: kid))
        }

        func jwks() throws -> JSON {
            var keys: [JSON] = []
            for kid in published.withLock({ $0 }) {
                switch kid {
                case "ec":
                    let (x, y) = try #require(ec.publicKey.parameters)
                    keys.append(["kty": "EC", "crv": "P-256", "kid": "ec", "use": "sig", "x": .string(x), "y": .string(y)])
                default:
                    // No `alg`: the key signs RS256 and PS256 alike.
                    let key = kid == "rotated" ? rotated : rsa
                    let (n, e) = try key.publicKey.getKeyPrimitives()
                    keys.append(["kty": "RSA", "kid": .string(kid), "use": "sig", "n": .string(Self.base64URL(n)), "e": .string(Self.base64URL(e))])
                }
            }
            return ["keys": .array(keys)]
        }

        static func base64URL(_ data: some DataProtocol) -> String {
            Data(data).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }

        /// Serves discovery and keys on a live port while `body` runs.
        func serve(_ body: @Sendable (String) async throws -> Void) async throws {
            let router = Router()
            let issuer = Mutex<String>("")
            router.get(".well-known/openid-configuration") { _, _ in
                let url = issuer.withLock { $0 }
                return Response(
                    status: .ok, headers: [.contentType: "application/json"],
                    body: .init(
                        byteBuffer: ByteBuffer(
                            string: JSONSerializer.string([
                                "issuer": .string(url), "jwks_uri": .string(url + "/jwks"), "authorization_endpoint": .string(url + "/auth"),
                                "token_endpoint": .string(url + "/token"), "userinfo_endpoint": .string(url + "/userinfo"),
                            ]))))
            }
            router.get("userinfo") { request, _ in
                self.userinfoAsked.withLock { $0.append(request.headers[.authorization] ?? "") }
                let (claims, signed, status) = self.userinfo.withLock { $0 }
                guard status == .ok, let claims else { return Response(status: status) }
                if signed {
                    let jwt = try await self.signers.sign(claims, kid: "ec")
                    return Response(status: .ok, headers: [.contentType: "application/jwt"], body: .init(byteBuffer: ByteBuffer(string: jwt)))
                }
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: try JSONEncoder().encode(claims))))
            }
            router.get("jwks") { _, _ in
                self.fetches.withLock { $0 += 1 }
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: JSONSerializer.string(try self.jwks()))))
            }
            try await Application(router: router, logger: Logger(label: "issuer")).test(.live) { client in
                let url = "http://127.0.0.1:\(client.port!)"
                issuer.withLock { $0 = url }
                try await body(url)
            }
        }
    }

    struct Claims: JWTPayload {
        var iss: String
        var sub = "dr.house"
        var aud: [String] = ["socle"]
        var exp = Int(Date().timeIntervalSince1970) + 300
        var nbf: Int?
        var roles: [String]? = ["admin", "clinician"]
        var azp: String? = "ward-app"
        var scope: String? = "openid"
        var acr: String?
        var given_name: String?
        var family_name: String?
        var SubjectNameID: String?
        var SubjectRefPro: RefPro?
        var patient: String?
        var ehrId: String?

        struct RefPro: Codable, Sendable {
            struct Exercice: Codable, Sendable { var codeProfession: String }
            var exercices: [Exercice]
        }

        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    static func unsigned(header: JSON, claims: Claims, signature: (String) -> String = { _ in "" }) throws -> String {
        let payload = try JSONEncoder().encode(claims)
        let input = Issuer.base64URL(Data(JSONSerializer.string(header).utf8)) + "." + Issuer.base64URL(payload)
        return input + "." + signature(input)
    }

    static func get(_ server: TestServer, _ path: String, token: String) async throws -> Reply {
        try await server.send(.get, path, as: nil, headers: ["Authorization": "Bearer " + token])
    }

    static let surfaces = ["/openehr/v1/ehr/7d44b88c-4199-4bad-97dc-d78268e01398", "/fhir/Patient?name=x", "/admin/access-log"]

    @Test(arguments: TestEngine.available)
    func tokensOfTheIssuerAreAcceptedAndOthersRefused(engine: TestEngine) async throws {
        let issuer = try await Issuer()
        try await issuer.serve { url in
            try await TestServer.with(engine, configure: { $0.oidc = OIDCSettings(issuer: url, audience: "socle", refetchInterval: .zero) }) { server in
                let good = Claims(iss: url)
                let tokens = [
                    ("RS256", try await issuer.signers.sign(good, kid: "rsa")), ("PS256", try await issuer.sign(good, rsa: issuer.rsa, pss: true, kid: "rsa")),
                    ("ES256", try await issuer.signers.sign(good, kid: "ec")),
                ]
                for (algorithm, token) in tokens {
                    for path in Self.surfaces {
                        let reply = try await Self.get(server, path, token: token)
                        #expect([200, 404].contains(reply.status.code), "\(algorithm) \(path): \(reply.status) \(reply.body)")
                    }
                }
                // Basic stays on beside bearer tokens.
                #expect(try await server.send(.get, "/admin/access-log").status == .ok)
                // The trace names the token's subject, client and scheme.
                let log = try await server.send(.get, "/admin/access-log?limit=1000").json["entries"]?.arrayValue ?? []
                let bearer = try #require(log.first { $0["actor"]?["authentication"]?.stringValue == "bearer" })
                #expect(bearer["actor"]?["name"]?.stringValue == "dr.house")
                #expect(bearer["actor"]?["client_id"]?.stringValue == "ward-app")

                let hour = 3600
                var expired = good
                expired.exp = Int(Date().timeIntervalSince1970) - hour
                var early = good
                early.nbf = Int(Date().timeIntervalSince1970) + hour
                var elsewhere = good
                elsewhere.aud = ["another-api"]
                var foreign = good
                foreign.iss = "https://evil.example"
                let (n, e) = try issuer.rsa.publicKey.getKeyPrimitives()
                let publicJWK = JSONSerializer.string(["kty": "RSA", "n": .string(Issuer.base64URL(n)), "e": .string(Issuer.base64URL(e))])
                let refused: [(String, String, String)] = [
                    ("expired", try await issuer.signers.sign(expired, kid: "rsa"), "expired"),
                    ("not yet valid", try await issuer.signers.sign(early, kid: "rsa"), "not valid yet"),
                    ("wrong audience", try await issuer.signers.sign(elsewhere, kid: "rsa"), "not meant for this server"),
                    ("wrong issuer", try await issuer.signers.sign(foreign, kid: "rsa"), "issuer"),
                    ("bad signature", String(try await issuer.signers.sign(good, kid: "rsa").dropLast(4)) + "AAAA", "signature"),
                    ("another key", try await issuer.sign(good, rsa: issuer.stranger, kid: "rsa"), "signature"),
                    ("alg none", try Self.unsigned(header: ["alg": "none", "kid": "rsa"], claims: good), "algorithm 'none'"),
                    (
                        "HMAC with the public key",
                        try Self.unsigned(header: ["alg": "HS256", "kid": "rsa"], claims: good) { input in
                            let mac = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: SymmetricKey(data: Data(publicJWK.utf8)))
                            return Issuer.base64URL(Data(mac))
                        }, "algorithm 'HS256'"
                    ),
                    ("no key id", try Self.unsigned(header: ["alg": "RS256"], claims: good) { _ in "AAAA" }, "no key id"),
                    ("not a JWT", "abc.def", "three base64url parts"),
                ]
                for (name, token, reason) in refused {
                    for path in Self.surfaces {
                        let reply = try await Self.get(server, path, token: token)
                        let challenge = reply.headers[values: .wwwAuthenticate].first { $0.hasPrefix("Bearer") } ?? ""
                        #expect(reply.status == .unauthorized, "\(name) on \(path): \(reply.status)")
                        #expect(challenge.contains("error=\"invalid_token\"") && challenge.contains(reason), "\(name) on \(path): \(challenge)")
                    }
                }
                let outcome = try await Self.get(server, "/fhir/Patient", token: refused[0].1)
                #expect(outcome.json["resourceType"]?.stringValue == "OperationOutcome")
                // No credentials: both challenges, no error code (RFC 6750 §3.1).
                let bare = try await server.send(.get, Self.surfaces[0], as: nil)
                #expect(bare.status == .unauthorized)
                #expect(Set(bare.headers[values: .wwwAuthenticate]) == ["Bearer realm=\"Socle\"", "Basic realm=\"Socle\", charset=\"UTF-8\""])
            }
        }
    }

    /// A key id the cache does not hold makes one fetch of the keys: a new
    /// key is accepted at once (rotation), an unknown one refused after it.
    @Test(arguments: TestEngine.available)
    func anUnknownKeyIDFetchesTheKeysAgain(engine: TestEngine) async throws {
        let issuer = try await Issuer()
        try await issuer.serve { url in
            try await TestServer.with(engine, configure: { $0.oidc = OIDCSettings(issuer: url, audience: "socle", refetchInterval: .zero) }) { server in
                let claims = Claims(iss: url)
                let first = try await Self.get(server, Self.surfaces[2], token: try await issuer.signers.sign(claims, kid: "rsa"))
                #expect(first.status == .ok)
                #expect(issuer.fetches.withLock { $0 } == 1)
                // Known keys are not fetched again.
                _ = try await Self.get(server, Self.surfaces[2], token: try await issuer.signers.sign(claims, kid: "ec"))
                #expect(issuer.fetches.withLock { $0 } == 1)

                issuer.published.withLock { $0.append("rotated") }
                let rotated = try await Self.get(server, Self.surfaces[2], token: try await issuer.signers.sign(claims, kid: "rotated"))
                #expect(rotated.status == .ok, "\(rotated.body)")
                #expect(issuer.fetches.withLock { $0 } == 2)

                let unknown = try await Self.get(server, Self.surfaces[2], token: try await issuer.signers.sign(claims, kid: "stranger"))
                #expect(unknown.status == .unauthorized)
                #expect(unknown.headers[values: .wwwAuthenticate].contains { $0.contains("'stranger' is not among the issuer's keys") })
                #expect(issuer.fetches.withLock { $0 } == 3)
            }
        }
    }

    /// An issuer that cannot be reached is the server's problem: 503, not 401.
    @Test
    func anUnreachableIssuerIsUnavailableNotUnauthorized() async throws {
        let issuer = try await Issuer()
        try await issuer.serve { url in
            // An issuer URL where no discovery document is found.
            let nowhere = url + "/nowhere"
            try await TestServer.with(.sqlite, configure: { $0.oidc = OIDCSettings(issuer: nowhere, audience: "socle") }) { server in
                let token = try await issuer.signers.sign(Claims(iss: nowhere), kid: "rsa")
                let reply = try await Self.get(server, Self.surfaces[0], token: token)
                #expect(reply.status == .serviceUnavailable, "\(reply.body)")
                #expect(reply.json["message"]?.stringValue?.contains("answered 404") == true, "\(reply.body)")
            }
        }
    }

    /// Pro Santé Connect (issue 16 §2): a token of PSC's shape commits with
    /// the professional's national identifier and its issuer in the audit;
    /// with `SOCLE_OIDC_REQUIRED_ACR=eidas1`, a token of a weaker level reads
    /// but does not write (RFC 9470 §3).
    @Test(arguments: TestEngine.available)
    func aProSanteConnectTokenCommitsAsTheProfessional(engine: TestEngine) async throws {
        let issuer = try await Issuer()
        try await issuer.serve { url in
            let settings = OIDCSettings(issuer: url, audience: "socle", requiredACR: "eidas1")
            try await TestServer.with(engine, configure: { $0.oidc = settings }) { server in
                let ehrID = try await CompositionRoutesTests.prepared(server)
                var psc = Claims(iss: url)
                psc.sub = "f:550dc1c8-d97b-4b1e-ac8c-8eb4471cf9dd:899700218896"
                psc.roles = nil
                psc.acr = "eidas1"
                psc.given_name = "Amélie"
                psc.family_name = "Lefèvre"
                psc.SubjectNameID = "899700218896"
                psc.SubjectRefPro = .init(exercices: [.init(codeProfession: "10")])
                let token = try await issuer.signers.sign(psc, kid: "rsa")
                let created = try await server.send(
                    .post, "/openehr/v1/ehr/\(ehrID)/composition",
                    as: nil, headers: ["Authorization": "Bearer " + token, "openEHR-AUDIT_DETAILS.committer": #"name="Someone Else""#],
                    body: CompositionRoutesTests.compositionText)
                #expect(created.status == .created, "\(created.body)")
                let uid = try #require(created.eTag)
                let version = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/versioned_composition/\(uid.split(separator: ":")[0])/version/\(uid)")
                let committer = try #require(version.json["commit_audit"]?["committer"])
                #expect(committer["_type"]?.stringValue == "PARTY_IDENTIFIED")
                #expect(committer["name"]?.stringValue == "Amélie Lefèvre")
                let identifier = committer["identifiers"]?.arrayValue?.first
                #expect(identifier?["id"]?.stringValue == "899700218896")
                #expect(identifier?["issuer"]?.stringValue == "1.2.250.1.71.4.2.1")
                #expect(identifier?["type"]?.stringValue == "RPPS")
                #expect(committer["external_ref"]?["id"]?["value"]?.stringValue == "899700218896")
                #expect(committer["external_ref"]?["id"]?["scheme"]?.stringValue == "1.2.250.1.71.4.2.1")

                // The trace names the professional by national identifier.
                let log = try await server.send(.get, "/admin/access-log?patient=EHR/\(ehrID)").json["entries"]?.arrayValue ?? []
                let write = try #require(log.first { $0["operation"]?.stringValue == "create" && $0["request"]?.stringValue?.hasSuffix("/composition") == true })
                #expect(write["actor"]?["national_id"]?.stringValue == "899700218896")
                #expect(write["actor"]?["national_id_issuer"]?.stringValue == "1.2.250.1.71.4.2.1")

                // A weaker authentication reads, and is asked to step up to write.
                psc.acr = "eidas2"
                let weaker = try await issuer.signers.sign(psc, kid: "rsa")
                let read = try await Self.get(server, "/openehr/v1/ehr/\(ehrID)", token: weaker)
                #expect(read.status == .ok)
                let refused = try await server.send(
                    .post, "/openehr/v1/ehr/\(ehrID)/composition", as: nil, headers: ["Authorization": "Bearer " + weaker],
                    body: CompositionRoutesTests.compositionText)
                #expect(refused.status == .unauthorized)
                let challenge = refused.headers[values: .wwwAuthenticate].first { $0.hasPrefix("Bearer") } ?? ""
                #expect(challenge.contains("error=\"insufficient_user_authentication\"") && challenge.contains("acr_values=\"eidas1\""), "\(challenge)")
                let fhirWrite = try await server.send(
                    .post, "/fhir/Patient", as: nil, headers: ["Authorization": "Bearer " + weaker], body: AccessTraceTests.patient("Durand"))
                #expect(fhirWrite.status == .unauthorized)
                #expect(fhirWrite.json["resourceType"]?.stringValue == "OperationOutcome")
                // A search by POST is a read.
                let search = try await server.send(
                    .post, "/fhir/Patient/_search", as: nil,
                    headers: ["Authorization": "Bearer " + weaker, "Content-Type": "application/x-www-form-urlencoded"], body: "name=Durand")
                #expect(search.status == .ok, "\(search.body)")
            }
        }
    }

    /// Pro Santé Connect gives the professional's identity at its userinfo
    /// endpoint (OpenID Connect Core 1.0 §5.3): with `SOCLE_OIDC_USERINFO=on`
    /// it is asked once per token, with the token, as JSON or as a signed JWT;
    /// an answer about another subject (§5.3.2) or a refusal refuses the token.
    @Test(arguments: TestEngine.available)
    func proSanteConnectClaimsComeFromUserinfo(engine: TestEngine) async throws {
        let issuer = try await Issuer()
        try await issuer.serve { url in
            let settings = OIDCSettings(issuer: url, audience: "socle", requiredACR: "eidas1", userinfo: true)
            try await TestServer.with(engine, configure: { $0.oidc = settings }) { server in
                let ehrID = try await CompositionRoutesTests.prepared(server)
                // The access token: who and how strongly, no roles, no professional identity.
                var access = Claims(iss: url)
                access.sub = "f:550dc1c8-d97b-4b1e-ac8c-8eb4471cf9dd:810100000001"
                access.roles = nil
                access.acr = "eidas1"
                var info = Claims(iss: url)
                info.sub = access.sub
                info.roles = nil
                info.given_name = "Jean"
                info.family_name = "Martin"
                info.SubjectNameID = "810100000001"
                info.SubjectRefPro = .init(exercices: [.init(codeProfession: "10")])
                issuer.userinfo.withLock { $0 = (info, false, .ok) }
                let token = try await issuer.signers.sign(access, kid: "rsa")
                for _ in 0..<2 {
                    let created = try await server.send(
                        .post, "/openehr/v1/ehr/\(ehrID)/composition", as: nil, headers: ["Authorization": "Bearer " + token],
                        body: CompositionRoutesTests.compositionText)
                    #expect(created.status == .created, "\(created.body)")
                    let uid = try #require(created.eTag)
                    let version = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/versioned_composition/\(uid.split(separator: ":")[0])/version/\(uid)")
                    let committer = try #require(version.json["commit_audit"]?["committer"])
                    #expect(committer["name"]?.stringValue == "Jean Martin")
                    #expect(committer["identifiers"]?.arrayValue?.first?["id"]?.stringValue == "810100000001")
                }
                // Asked once for the two requests, with the token.
                #expect(issuer.userinfoAsked.withLock { $0 } == ["Bearer " + token])

                // A signed answer (application/jwt) is verified with the issuer's keys.
                issuer.userinfo.withLock { $0 = (info, true, .ok) }
                access.exp += 1
                let second = try await issuer.signers.sign(access, kid: "rsa")
                #expect(try await Self.get(server, "/openehr/v1/ehr/\(ehrID)", token: second).status == .ok)
                let log = try await server.send(.get, "/admin/access-log?patient=EHR/\(ehrID)").json["entries"]?.arrayValue ?? []
                let read = try #require(log.first { $0["operation"]?.stringValue == "read" && $0["actor"]?["name"]?.stringValue == access.sub })
                #expect(read["actor"]?["national_id"]?.stringValue == "810100000001")

                // An answer about someone else, or a refusal, refuses the token with the reason.
                info.sub = "f:someone-else"
                for (answer, status, reason) in [(info, HTTPResponse.Status.ok, "sub differs"), (info, .unauthorized, "refused the token (401)")] {
                    issuer.userinfo.withLock { $0 = (answer, false, status) }
                    access.exp += 1
                    let refused = try await Self.get(server, "/openehr/v1/ehr/\(ehrID)", token: try await issuer.signers.sign(access, kid: "rsa"))
                    #expect(refused.status == .unauthorized)
                    let challenge = refused.headers[values: .wwwAuthenticate].first { $0.hasPrefix("Bearer") } ?? ""
                    #expect(challenge.contains("invalid_token") && challenge.contains(reason), "\(challenge)")
                }
                // An issuer whose userinfo fails is the server's problem: 503.
                issuer.userinfo.withLock { $0 = (info, false, .internalServerError) }
                access.exp += 1
                let unavailable = try await Self.get(server, "/openehr/v1/ehr/\(ehrID)", token: try await issuer.signers.sign(access, kid: "rsa"))
                #expect(unavailable.status == .serviceUnavailable)
            }
        }
    }

    /// SMART App Launch 2.0 §Conformance: the well-known configuration names
    /// the issuer's endpoints, and the CapabilityStatement's security says SMART-on-FHIR.
    @Test
    func theSMARTConfigurationNamesTheIssuersEndpoints() async throws {
        let issuer = try await Issuer()
        try await issuer.serve { url in
            try await TestServer.with(.sqlite, configure: { $0.oidc = OIDCSettings(issuer: url, audience: "socle") }) { server in
                let configuration = try await server.send(.get, "/fhir/.well-known/smart-configuration", as: nil)
                #expect(configuration.status == .ok, "\(configuration.body)")
                #expect(configuration.json["issuer"]?.stringValue == url)
                #expect(configuration.json["token_endpoint"]?.stringValue == url + "/token")
                #expect(configuration.json["jwks_uri"]?.stringValue == url + "/jwks")
                #expect(configuration.json["capabilities"]?.arrayValue?.contains("permission-v2") == true)
                let metadata = try await server.send(.get, "/fhir/metadata", as: nil)
                let services = metadata.json["rest"]?.arrayValue?.first?["security"]?["service"]?.arrayValue ?? []
                #expect(services.compactMap { $0["coding"]?.arrayValue?.first?["code"]?.stringValue } == ["SMART-on-FHIR", "Basic"])
            }
        }
        try await TestServer.with(.sqlite) { server in
            let absent = try await server.send(.get, "/fhir/.well-known/smart-configuration", as: nil)
            #expect(absent.status == .notFound)
            #expect(absent.json["resourceType"]?.stringValue == "OperationOutcome")
        }
    }

    /// A token whose signature was checked once is not checked again, but its
    /// claims are: once it expires it is refused like any other.
    @Test
    func aVerifiedTokenStillExpires() async throws {
        let issuer = try await Issuer()
        try await issuer.serve { url in
            let later = Mutex<TimeInterval>(0)
            let token = try await issuer.signers.sign(Claims(iss: url), kid: "rsa")
            // What is tested follows the first check; under a loaded run the issuer can answer
            // that first fetch past the deadline (seen on CI), so it is tried again with a new verifier.
            var verifier: BearerTokenVerifier?
            for attempt in 1...4 where verifier == nil {
                let candidate = BearerTokenVerifier(settings: OIDCSettings(issuer: url, audience: "socle")) { Date().addingTimeInterval(later.withLock { $0 }) }
                do {
                    _ = try await candidate.verify(token)
                    verifier = candidate
                } catch where attempt < 4 && "\(error)".contains("cannot be read") {}
            }
            let remembered = try #require(verifier)
            _ = try await remembered.verify(token)
            // Two hours on, past `exp` and the leeway: the remembered token is refused, as expired.
            later.withLock { $0 = 7200 }
            do {
                _ = try await remembered.verify(token)
                Issue.record("an expired token was accepted")
            } catch {
                #expect("\(error)".contains("has expired"), "\(error)")
            }
        }
    }
}
