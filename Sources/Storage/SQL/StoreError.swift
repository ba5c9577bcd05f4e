/// What the store refuses, in terms a surface can map to its own status
/// codes (404, 409, 412, 503). Messages carry identifiers, never clinical content.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case notFound
        case conflict
        case preconditionFailed
        case unavailable
        case schemaTooNew
        /// A value the database cannot store (a NUL character in text on PostgreSQL).
        case invalidValue
        /// A statement ran longer than the statement timeout.
        case timeout
        /// Something a commit was prepared against changed before it
        /// committed (a template replaced by another node): prepare it again.
        case changed
        /// A derived index (projection) is being rebuilt and cannot answer yet.
        case rebuilding
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
