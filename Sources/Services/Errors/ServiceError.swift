import OpenEHR
import Storage

/// Why a use case refused a request, in words a surface maps to its own
/// status codes and error format (one place per surface).
public struct ServiceError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        /// Malformed input: bad JSON, wrong types, unknown RM type, bad id. 400.
        case badRequest
        /// Well-formed but breaking a rule of the target (validation). 422.
        case unprocessable
        case notFound
        /// An id or subject already used, a resource in use. 409.
        case conflict
        /// A stale If-Match. 412.
        case preconditionFailed
        /// A resource that was deleted (FHIR read of a deleted resource). 410.
        case gone
        case forbidden
        /// The database cannot be reached, a statement ran too long, an index
        /// is being rebuilt. 503.
        case unavailable
    }

    public var kind: Kind
    public var message: String
    public var problems: [DecodingProblem]
    /// For 412: the version that is the latest now, so a client can retry.
    public var latestVersion: ObjectVersionID?
    /// For 503: when to try again, in seconds (`Retry-After`).
    public var retryAfter: Int?

    public init(_ kind: Kind, _ message: String, problems: [DecodingProblem] = [], latestVersion: ObjectVersionID? = nil, retryAfter: Int? = nil) {
        self.kind = kind
        self.message = message
        self.problems = problems
        self.latestVersion = latestVersion
        self.retryAfter = retryAfter
    }

    /// A store refusal in service terms.
    public init(_ error: StoreError) {
        switch error.code {
        case .notFound: self.init(.notFound, error.message)
        case .conflict, .changed: self.init(.conflict, error.message)
        case .preconditionFailed: self.init(.preconditionFailed, error.message)
        case .invalidValue: self.init(.badRequest, error.message)
        case .unavailable, .schemaTooNew: self.init(.unavailable, error.message)
        case .timeout: self.init(.unavailable, error.message + " (SOCLE_DATABASE_STATEMENT_TIMEOUT)")
        case .rebuilding: self.init(.unavailable, error.message, retryAfter: 10)
        }
    }

    /// The message, then each located problem on a line of its own (what a command prints).
    public var description: String { ([message] + problems.map { "  \($0.path): \($0.message)" }).joined(separator: "\n") }
}

extension ServiceError.Kind {
    /// The HTTP status every surface answers this refusal with (and a FHIR
    /// transaction's entry reports): one table for all.
    public var statusCode: Int {
        switch self {
        case .badRequest: 400
        case .unprocessable: 422
        case .notFound: 404
        case .conflict: 409
        case .preconditionFailed: 412
        case .gone: 410
        case .forbidden: 403
        case .unavailable: 503
        }
    }

    /// The status's reason phrase (RFC 9110 §15).
    public var reasonPhrase: String {
        switch self {
        case .badRequest: "Bad Request"
        case .unprocessable: "Unprocessable Content"
        case .notFound: "Not Found"
        case .conflict: "Conflict"
        case .preconditionFailed: "Precondition Failed"
        case .gone: "Gone"
        case .forbidden: "Forbidden"
        case .unavailable: "Service Unavailable"
        }
    }
}
