import HTTPTypes
import Foundation
import Hummingbird

/// HTTP Basic authentication (RFC 7617) against the configured users. No
/// or wrong credentials: 401 with `WWW-Authenticate`.
struct BasicAuthMiddleware: RouterMiddleware {
    typealias Context = SocleRequestContext
    let directory: UserDirectory

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("basic "),
            let decoded = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let credentials = String(data: decoded, encoding: .utf8), let colon = credentials.firstIndex(of: ":")
        else {
            throw Self.unauthorized("authentication required: send HTTP Basic credentials")
        }
        let name = String(credentials[..<colon])
        let password = String(credentials[credentials.index(after: colon)...])
        guard let user = directory.authenticate(name: name, password: password) else {
            throw Self.unauthorized("wrong user name or password")
        }
        var context = context
        context.user = user
        return try await next(request, context)
    }

    static func unauthorized(_ message: String) -> HTTPRequestError {
        var headers = HTTPFields()
        headers[.wwwAuthenticate] = "Basic realm=\"Socle\", charset=\"UTF-8\""
        return HTTPRequestError(status: .unauthorized, message: message, headers: headers)
    }
}

/// With authentication off (loopback only), every request acts as this user.
struct AnonymousUserMiddleware: RouterMiddleware {
    typealias Context = SocleRequestContext
    static let user = User(name: "anonymous", password: "", role: .admin)

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.user = Self.user
        return try await next(request, context)
    }
}
