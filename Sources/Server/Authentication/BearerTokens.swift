import AsyncHTTPClient
import Crypto
import Foundation
import JSONCore
import JWTKit
import NIOCore
import Synchronization

/// What a bearer token must satisfy: its issuer (whose discovery document
/// and keys are fetched), its audience, and where its claims are read.
public struct OIDCSettings: Sendable, Hashable {
    /// The issuer URL, exactly as tokens name it in `iss`.
    public var issuer: String
    /// The audience tokens must name in `aud` (Socle's client id or resource URL).
    public var audience: String
    /// The claim holding the user's roles, a dotted path (`realm_access.roles`).
    public var rolesClaim: String
    /// Clock skew allowed on `exp` and `nbf`.
    public var leeway: Duration
    /// The keys are fetched again for an unknown key id at most this often.
    public var refetchInterval: Duration
    /// The `acr` a token must carry to write clinical content (`eidas1`); nil: any.
    public var requiredACR: String?
    /// Whether the issuer's userinfo endpoint is asked for the claims the
    /// token lacks, once per token (Pro Santé Connect gives the
    /// professional's `SubjectRefPro` there).
    public var userinfo: Bool

    public init(
        issuer: String, audience: String, rolesClaim: String = "roles", leeway: Duration = .seconds(60), refetchInterval: Duration = .seconds(10),
        requiredACR: String? = nil, userinfo: Bool = false
    ) {
        self.issuer = issuer
        self.audience = audience
        self.rolesClaim = rolesClaim
        self.leeway = leeway
        self.refetchInterval = refetchInterval
        self.requiredACR = requiredACR
        self.userinfo = userinfo
    }
}

/// A token refused, with the reason RFC 6750 §3.1 asks to give: `invalid_token` (401).
struct BearerTokenError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The issuer could not be asked for its keys: the server's problem (503), not the client's.
struct IssuerUnavailableError: Error, CustomStringConvertible {
    var description: String
}

/// Checks OpenID Connect access tokens (RFC 9068 JWTs) against the
/// issuer's keys (RFC 7517 JWKS, found through OpenID Connect Discovery
/// 1.0 §4): the signature with JWTKit, by a key and an algorithm the issuer
/// published (RS256, PS256 or ES256; `none` and HMAC are refused, so a
/// token signed with the public key as an HMAC secret is too), then `iss`,
/// `aud`, `exp` and `nbf`. Keys are cached for an hour; a token naming a
/// key id not in the cache makes one new fetch (key rotation), at most every
/// `refetchInterval`.
public final class BearerTokenVerifier: Sendable {
    public let settings: OIDCSettings
    let client: HTTPClient
    let keys = Mutex<KeySet?>(nil)
    let refreshing = Mutex<ContinuousClock.Instant?>(nil)
    /// The last failed fetch: for `refetchInterval` after it, requests are
    /// answered at once rather than each waiting on an issuer that is down.
    let failed = Mutex<(at: ContinuousClock.Instant, error: IssuerUnavailableError)?>(nil)
    /// Tokens whose signature verified, by their SHA-256, with their claims:
    /// a client sends the same token with every request, and its signature
    /// need not be checked each time. The claims (`exp` first) still are.
    let verified = Mutex<[SHA256Digest: (claims: JSON, user: User)]>([:])
    static let verifiedLimit = 10_000
    static let accepted: Set<String> = ["RS256", "PS256", "ES256"]

    /// The keys of one JWKS: for each key id, a collection per algorithm
    /// the key may sign with, so the token's header picks among those only.
    struct KeySet: Sendable {
        var byID: [String: [String: JWTKeyCollection]]
        var fetched: ContinuousClock.Instant
        /// The issuer's discovery document, as fetched with the keys.
        var discovery: JSON
    }

    /// The issuer's OpenID Connect discovery document (its endpoints), fetched with the keys.
    func discovery() async throws -> JSON {
        do {
            return try await keySet(refetch: false).discovery
        } catch let error as IssuerUnavailableError {
            throw HTTPRequestError(status: .serviceUnavailable, message: "the OpenID Connect issuer cannot be read: \(error.description)")
        }
    }

    /// The time tokens are judged at (a test moves it on).
    let now: @Sendable () -> Date

    public init(settings: OIDCSettings, client: HTTPClient = .shared, now: @escaping @Sendable () -> Date = { Date() }) {
        self.settings = settings
        self.client = client
        self.now = now
    }

    /// The claims of a valid token, or why it is not one.
    public func verify(_ token: String) async throws -> JSON {
        try await user(of: token) { _ in User(name: "", password: "", roles: []) }.claims
    }

    /// The claims of a valid token and the user `make` builds from them,
    /// both kept with the token's digest: the next request with the same
    /// token costs a digest and the claims' check.
    func user(of token: String, make: (JSON) throws -> User) async throws -> (claims: JSON, user: User) {
        var token = token
        let digest = token.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) }
        if let known = verified.withLock({ $0[digest] }) {
            try check(known.claims)
            return known
        }
        var claims = try await verifySignature(token)
        if settings.userinfo { claims = try await withUserinfo(claims, token: token) }
        let made = (claims: claims, user: try make(claims))
        verified.withLock { cache in
            if cache.count >= Self.verifiedLimit { cache.removeAll(keepingCapacity: true) }
            cache[digest] = made
        }
        return made
    }

    /// The signature's check, then the claims'.
    func verifySignature(_ token: String) async throws -> JSON {
        let claims = try await signedClaims(token, what: "the token")
        try check(claims)
        return claims
    }

    /// The payload of a JWS the issuer signed (RS256, PS256 or ES256, by one of its published keys).
    func signedClaims(_ token: String, what: String) async throws -> JSON {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let header = Self.decodedSegment(parts[0]), let claims = Self.decodedSegment(parts[1]) else {
            throw BearerTokenError("\(what) is not a JWS compact serialization (three base64url parts)")
        }
        guard let algorithm = header["alg"]?.stringValue, Self.accepted.contains(algorithm) else {
            throw BearerTokenError("\(what)'s algorithm '\(header["alg"]?.stringValue ?? "")' is not accepted: RS256, PS256 or ES256")
        }
        let collection = try await keyCollection(id: header["kid"]?.stringValue, algorithm: algorithm)
        do {
            _ = try await collection.verify(token, as: SignatureOnly.self)
        } catch {
            throw BearerTokenError("\(what)'s signature does not verify with the issuer's key")
        }
        return claims
    }

    /// The token's claims with those the issuer's userinfo endpoint adds
    /// (OpenID Connect Core 1.0 §5.3), asked with the token itself. The
    /// answer is JSON, or a JWT the issuer signed (`application/jwt`, as Pro
    /// Santé Connect answers); its `sub` must be the token's (§5.3.2). The
    /// token's own claims win: userinfo only adds what it lacks.
    func withUserinfo(_ claims: JSON, token: String) async throws -> JSON {
        guard let endpoint = try await keySet(refetch: false).discovery["userinfo_endpoint"]?.stringValue else {
            throw IssuerUnavailableError(description: "the discovery document of \(settings.issuer) has no userinfo_endpoint")
        }
        var request = HTTPClientRequest(url: endpoint)
        request.headers.add(name: "Authorization", value: "Bearer " + token)
        request.headers.add(name: "Accept", value: "application/json, application/jwt")
        let (status, type, body) = try await fetch(request)
        if status == 401 || status == 403 { throw BearerTokenError("the issuer's userinfo endpoint refused the token (\(status))") }
        guard status == 200 else { throw IssuerUnavailableError(description: "\(endpoint) answered \(status)") }
        let info: JSON
        if type.hasPrefix("application/jwt") {
            info = try await signedClaims(String(decoding: body.readableBytesView, as: UTF8.self), what: "the userinfo answer")
            if let issuer = info["iss"]?.stringValue, issuer != settings.issuer {
                throw BearerTokenError("the userinfo answer's issuer '\(issuer)' is not \(settings.issuer)")
            }
        } else {
            guard let parsed = try? JSONParser.parse(body.readableBytesView), case .object = parsed else {
                throw IssuerUnavailableError(description: "\(endpoint) did not answer a JSON object")
            }
            info = parsed
        }
        guard let subject = info["sub"]?.stringValue, subject == claims["sub"]?.stringValue else {
            throw BearerTokenError("the userinfo answer is not about the token's subject (sub differs)")
        }
        guard var merged = claims.objectValue, let added = info.objectValue else { return claims }
        for (name, value) in added.members where merged[name] == nil { merged[name] = value }
        return .object(merged)
    }

    /// `iss`, `aud`, `exp` (required) and `nbf`, with the leeway.
    func check(_ claims: JSON) throws {
        guard claims["iss"]?.stringValue == settings.issuer else {
            throw BearerTokenError("the token's issuer '\(claims["iss"]?.stringValue ?? "")' is not \(settings.issuer)")
        }
        let audiences = claims["aud"]?.stringValue.map { [$0] } ?? claims["aud"]?.arrayValue?.compactMap(\.stringValue) ?? []
        guard audiences.contains(settings.audience) else { throw BearerTokenError("the token is not meant for this server (aud must name \(settings.audience))") }
        let now = self.now().timeIntervalSince1970
        let leeway = Double(settings.leeway.components.seconds)
        guard let expiry = claims["exp"].flatMap(Self.seconds) else { throw BearerTokenError("the token has no expiry (exp)") }
        guard now <= expiry + leeway else { throw BearerTokenError("the token has expired") }
        if let notBefore = claims["nbf"].flatMap(Self.seconds), now < notBefore - leeway {
            throw BearerTokenError("the token is not valid yet (nbf)")
        }
    }

    /// The collection for a key id and algorithm, fetching the keys when
    /// they are not cached or do not hold that key id.
    func keyCollection(id: String?, algorithm: String) async throws -> JWTKeyCollection {
        var set = try await keySet(refetch: false)
        if Self.find(id, algorithm, in: set) == nil, id.map({ set.byID[$0] == nil }) ?? false, canRefetch() {
            set = try await keySet(refetch: true)
        }
        guard let collection = Self.find(id, algorithm, in: set) else {
            if let id, set.byID[id] != nil { throw BearerTokenError("the issuer's key '\(id)' does not sign with \(algorithm)") }
            throw BearerTokenError(id.map { "the token's key id '\($0)' is not among the issuer's keys" } ?? "the token names no key id (kid)")
        }
        return collection
    }

    static func find(_ id: String?, _ algorithm: String, in set: KeySet) -> JWTKeyCollection? {
        if let id { return set.byID[id]?[algorithm] }
        // Without a key id, only an issuer with one key is unambiguous.
        return set.byID.count == 1 ? set.byID.first?.value[algorithm] : nil
    }

    func canRefetch() -> Bool {
        refreshing.withLock { last in
            let now = ContinuousClock.now
            if let last, now - last < settings.refetchInterval { return false }
            last = now
            return true
        }
    }

    func keySet(refetch: Bool) async throws -> KeySet {
        let cached = keys.withLock { $0 }
        if !refetch, let cached, ContinuousClock.now - cached.fetched < .seconds(3600) { return cached }
        // While the issuer cannot be reached, the keys last fetched still serve.
        if let failure = failed.withLock({ $0 }), ContinuousClock.now - failure.at < settings.refetchInterval {
            if let cached { return cached }
            throw failure.error
        }
        do {
            let fetched = try await fetchKeys()
            keys.withLock { $0 = fetched }
            return fetched
        } catch let error as IssuerUnavailableError {
            failed.withLock { $0 = (.now, error) }
            if let cached { return cached }
            throw error
        }
    }

    /// The discovery document, then its `jwks_uri`.
    func fetchKeys() async throws -> KeySet {
        let base = settings.issuer.hasSuffix("/") ? String(settings.issuer.dropLast()) : settings.issuer
        let discovery = try await fetchJSON(base + "/.well-known/openid-configuration")
        guard discovery["issuer"]?.stringValue == settings.issuer else {
            throw IssuerUnavailableError(description: "the discovery document of \(settings.issuer) names another issuer")
        }
        guard let uri = discovery["jwks_uri"]?.stringValue else {
            throw IssuerUnavailableError(description: "the discovery document of \(settings.issuer) has no jwks_uri")
        }
        let jwks = try await fetchJSON(uri)
        var byID: [String: [String: JWTKeyCollection]] = [:]
        for key in jwks["keys"]?.arrayValue ?? [] {
            guard let id = key["kid"]?.stringValue, key["use"]?.stringValue ?? "sig" == "sig" else { continue }
            for algorithm in Self.algorithms(of: key) {
                var pinned = key.objectValue ?? JSONObject()
                pinned["alg"] = .string(algorithm)
                guard let collection = try? await JWTKeyCollection().add(jwksJSON: JSONSerializer.string(["keys": [.object(pinned)]])) else { continue }
                byID[id, default: [:]][algorithm] = collection
            }
        }
        return KeySet(byID: byID, fetched: .now, discovery: discovery)
    }

    /// The accepted algorithms a JWK may sign with: its own `alg`, or those its key type allows.
    static func algorithms(of key: JSON) -> [String] {
        if let declared = key["alg"]?.stringValue { return accepted.contains(declared) ? [declared] : [] }
        switch (key["kty"]?.stringValue, key["crv"]?.stringValue) {
        case ("RSA", _): return ["RS256", "PS256"]
        case ("EC", "P-256"): return ["ES256"]
        default: return []
        }
    }

    func fetchJSON(_ url: String) async throws -> JSON {
        let (status, _, body) = try await fetch(HTTPClientRequest(url: url))
        guard status == 200 else { throw IssuerUnavailableError(description: "\(url) answered \(status)") }
        do {
            return try JSONParser.parse(body.readableBytesView)
        } catch {
            throw IssuerUnavailableError(description: "\(url) is not JSON: \(error)")
        }
    }

    /// One request to the issuer: its status code, content type and body (at most a megabyte).
    func fetch(_ request: HTTPClientRequest) async throws -> (UInt, String, ByteBuffer) {
        do {
            // 30 s: a slow issuer answers late rather than not at all (10 s was exceeded under a loaded test run).
            let response = try await client.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 1 << 20)
            return (response.status.code, response.headers.first(name: "Content-Type")?.lowercased() ?? "", body)
        } catch {
            throw IssuerUnavailableError(description: "\(request.url) cannot be read: \(error)")
        }
    }

    static func decodedSegment(_ segment: Substring) -> JSON? {
        var text = segment.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        guard let data = Data(base64Encoded: text), let json = try? JSONParser.parse(Array(data)), case .object = json else { return nil }
        return json
    }

    static func seconds(_ value: JSON) -> Double? {
        if case .number(let text) = value { return Double(text) }
        return nil
    }
}

/// The payload as JWTKit sees it: the signature alone is its concern; the
/// claims are read and checked by `BearerTokenVerifier.check`.
struct SignatureOnly: JWTPayload {
    init(from decoder: any Decoder) throws {}
    func encode(to encoder: any Encoder) throws {}
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}
