import Foundation
import HTTPTypes
import Hummingbird
import JSONCore

/// Authentication of every request to a protected route, by HTTP Basic
/// (RFC 7617) against the configured users, by an OpenID Connect bearer
/// token (RFC 6750), or both. No or wrong credentials: 401 with a
/// `WWW-Authenticate` challenge for each scheme on offer, the bearer one
/// saying `error="invalid_token"` and why when a token was refused (RFC 6750 §3).
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = SocleRequestContext
    /// Basic users; nil: Basic is not on offer.
    let directory: UserDirectory?
    /// The bearer token check; nil: bearer tokens are not on offer.
    let bearer: BearerTokenVerifier?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else { throw unauthorized("authentication required: \(offered)") }
        // The scheme alone is lower-cased: a bearer token is a kilobyte.
        let scheme = header.prefix { $0 != " " }.lowercased()
        var context = context
        if scheme == "basic", let directory {
            context.user = try Self.basicUser(String(header.dropFirst(6)), directory: directory, refusal: unauthorized)
        } else if scheme == "bearer", let bearer {
            var token = header.dropFirst(7).drop { $0 == " " || $0 == "\t" }
            while token.last == " " || token.last == "\t" { token = token.dropLast() }
            let user = try await bearerUser(String(token), bearer)
            try requireACR(of: user, for: request, bearer.settings)
            context.user = user
        } else {
            throw unauthorized("the Authorization scheme is not accepted: \(offered)")
        }
        return try await next(request, context)
    }

    var offered: String {
        [directory.map { _ in "HTTP Basic credentials" }, bearer.map { _ in "a bearer token" }].compactMap { $0 }.joined(separator: " or ")
    }

    static func basicUser(_ encoded: String, directory: UserDirectory, refusal: (String) -> HTTPRequestError) throws -> User {
        guard let decoded = Data(base64Encoded: encoded.trimmingCharacters(in: .whitespaces)),
            let credentials = String(data: decoded, encoding: .utf8), let colon = credentials.firstIndex(of: ":")
        else { throw refusal("the Basic credentials are not base64 of name:password") }
        let name = String(credentials[..<colon])
        let password = String(credentials[credentials.index(after: colon)...])
        guard let user = directory.authenticate(name: name, password: password) else { throw refusal("wrong user name or password") }
        return user
    }

    func bearerUser(_ token: String, _ bearer: BearerTokenVerifier) async throws -> User {
        do {
            return try await bearer.user(of: token) { claims in try user(claims, bearer.settings) }.user
        } catch let error as BearerTokenError {
            throw unauthorized(error.description, tokenError: "invalid_token")
        } catch let error as IssuerUnavailableError {
            throw HTTPRequestError(status: .serviceUnavailable, message: "bearer tokens cannot be checked now: \(error.description)")
        }
    }

    /// The user a valid token's claims make: `sub`, the roles claim, what else they say.
    func user(_ claims: JSON, _ settings: OIDCSettings) throws -> User {
        guard let subject = claims["sub"]?.stringValue, !subject.isEmpty else { throw BearerTokenError("the token has no subject (sub)") }
        let identity = TokenIdentity(claims: claims)
        var roles = Set(Self.strings(at: settings.rolesClaim, in: claims).compactMap(User.Role.init(named:)))
        // A health professional (Pro Santé Connect) without roles of Socle's is a clinician.
        if roles.isEmpty, !identity.professions.isEmpty { roles = [.clinician] }
        return User(name: subject, password: "", roles: roles, token: identity)
    }

    /// A write of clinical content with a token of a weaker `acr` than the one
    /// required: 401 asking for a stronger authentication (RFC 9470 §3).
    func requireACR(of user: User, for request: Request, _ settings: OIDCSettings) throws {
        guard let required = settings.requiredACR, user.token?.acr != required,
            let access = AccessKind(method: request.method, path: request.uri.path), AccessKind.writes.contains(access.operation)
        else { return }
        var error = unauthorized(
            "writing clinical content needs an authentication of level \(required) (acr), this token has \(user.token?.acr ?? "none")",
            tokenError: "insufficient_user_authentication")
        error.headers[values: .wwwAuthenticate] = error.headers[values: .wwwAuthenticate].map { challenge in
            challenge.hasPrefix("Bearer") ? challenge + ", acr_values=\"\(required)\"" : challenge
        }
        throw error
    }

    /// The strings at a dotted claim path: one string, or an array of them.
    static func strings(at path: String, in claims: JSON) -> [String] {
        var value: JSON? = claims
        for key in path.split(separator: ".") { value = value?[String(key)] }
        if let single = value?.stringValue { return [single] }
        return value?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    func unauthorized(_ message: String) -> HTTPRequestError { unauthorized(message, tokenError: nil) }

    /// 401 with a challenge per scheme on offer (RFC 9110 §11.6.1 allows several).
    func unauthorized(_ message: String, tokenError: String?) -> HTTPRequestError {
        var headers = HTTPFields()
        if bearer != nil {
            var challenge = "Bearer realm=\"Socle\""
            if let tokenError {
                challenge += ", error=\"\(tokenError)\", error_description=\"\(message.replacingOccurrences(of: "\"", with: "'"))\""
            }
            headers.append(HTTPField(name: .wwwAuthenticate, value: challenge))
        }
        if directory != nil { headers.append(HTTPField(name: .wwwAuthenticate, value: "Basic realm=\"Socle\", charset=\"UTF-8\"")) }
        return HTTPRequestError(status: .unauthorized, message: message, headers: headers)
    }
}

/// With authentication off (loopback only), every request acts as this user.
struct AnonymousUserMiddleware: RouterMiddleware {
    typealias Context = SocleRequestContext
    static let user = User(name: "anonymous", password: "", roles: Set(User.Role.allCases).subtracting([.patient]))

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.user = Self.user
        return try await next(request, context)
    }
}
