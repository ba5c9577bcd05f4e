import Hummingbird

/// The per-request context: Hummingbird's core storage plus the signed-in user.
public struct SocleRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by the authentication middleware; `nil` on public routes.
    public var user: User?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        user = nil
    }
}
