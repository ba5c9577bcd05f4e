import Hummingbird
import NIOCore

/// The per-request context: Hummingbird's core storage plus the signed-in user.
public struct SocleRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by the authentication middleware; `nil` on public routes.
    public var user: User?
    /// The peer of the connection (a proxy, when there is one).
    public var remoteAddress: SocketAddress?
    /// `scheme://host[:port]` as the client addressed Socle (`PublicURLMiddleware`).
    public var origin = ""
    /// `/rest` when the client called the paths under `/rest`, else empty.
    public var apiPrefix = ""
    /// The request's id (`RequestIDMiddleware`).
    public var requestID: String?
    /// What the handler touched, for the access trace.
    let access = AccessNote()
    /// The patients a token with a patient context may reach (`AuthorizationMiddleware`); nil: no such limit.
    public var patientScope: PatientScope?
    /// What the path says of the access, as the first middleware to ask read it (`accessKind(of:)`).
    var pathAccess: PathAccess?

    struct PathAccess {
        /// nil: the request reaches no patient data.
        var kind: AccessKind?
    }

    /// What the request's path says of the access: as a middleware before read it, or read now.
    func accessKind(of request: Request) -> AccessKind? {
        if let pathAccess { return pathAccess.kind }
        return AccessKind(method: request.method, path: request.uri.path)
    }

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        user = nil
        remoteAddress = source.channel.remoteAddress
    }
}
