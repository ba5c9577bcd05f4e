import JSONCore

/// One problem found in a resource: where (a FHIRPath location such as
/// `Patient.name[0].given[1]`), what (the OperationOutcome issue type),
/// and why.
public struct FHIRIssue: Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable { case fatal, error, warning, information }
    public var severity: Severity
    /// OperationOutcome.issue.code: structure, required, value, code-invalid, invariant, invalid.
    public var code: String
    public var location: String
    public var message: String

    public init(_ severity: Severity = .error, code: String, location: String, message: String) {
        self.severity = severity
        self.code = code
        self.location = location
        self.message = message
    }

    public var description: String { "\(location): \(message)" }

    /// An error or a fatal error: what makes a resource invalid.
    public var isError: Bool { severity == .error || severity == .fatal }

    /// An OperationOutcome of one message, then each located problem, all
    /// of one severity and issue code: what every FHIR answer about a
    /// request (an error, an entry's outcome, an information) is made of.
    public static func outcome(_ severity: Severity, code: String, message: String, problems: [(location: String, message: String)] = []) -> JSON {
        ([FHIRIssue(severity, code: code, location: "", message: message)]
            + problems.map { FHIRIssue(severity, code: code, location: $0.location, message: $0.message) }).operationOutcome
    }
}

extension Array where Element == FHIRIssue {
    /// An OperationOutcome (R4 §OperationOutcome) listing the issues.
    public var operationOutcome: JSON {
        let issues: [JSON] = map { issue in
            var object = JSONObject([
                ("severity", .string(issue.severity.rawValue)), ("code", .string(issue.code)), ("diagnostics", .string(issue.message)),
            ])
            if !issue.location.isEmpty { object["expression"] = [.string(issue.location)] }
            return .object(object)
        }
        return .object(JSONObject([("resourceType", "OperationOutcome"), ("issue", .array(issues))]))
    }

    public var hasErrors: Bool { contains(where: \.isError) }
}
