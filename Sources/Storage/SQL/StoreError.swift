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
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
