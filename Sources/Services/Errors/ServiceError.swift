import OpenEHR

/// Why a use case refused a request, in words a surface maps to its own
/// status codes and error format (one place per surface).
public struct ServiceError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// Malformed input: bad JSON, wrong types, unknown RM type, bad id. 400.
        case badRequest
        /// Well-formed but breaking a rule of the target (validation). 422.
        case unprocessable
        case notFound
        /// An id or subject already used, a resource in use. 409.
        case conflict
        /// A stale If-Match. 412.
        case preconditionFailed
        case forbidden
        /// The database cannot be reached. 503.
        case unavailable
    }

    public var kind: Kind
    public var message: String
    public var problems: [DecodingProblem]
    /// For 412: the version that is the latest now, so a client can retry.
    public var latestVersion: ObjectVersionID?

    public init(_ kind: Kind, _ message: String, problems: [DecodingProblem] = [], latestVersion: ObjectVersionID? = nil) {
        self.kind = kind
        self.message = message
        self.problems = problems
        self.latestVersion = latestVersion
    }

    public var description: String { message }
}
