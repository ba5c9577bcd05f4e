/// One thing wrong with a submitted RM object: where (a path from the
/// document root, `/subject/external_ref/namespace`) and which rule it breaks.
public struct DecodingProblem: Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path.isEmpty ? "/" : path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

/// A document that is not a valid instance of the RM type it was sent as.
/// It lists every problem found, not only the first.
public struct RMDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var rmType: String
    public var problems: [DecodingProblem]

    public init(rmType: String, problems: [DecodingProblem]) {
        self.rmType = rmType
        self.problems = problems
    }

    public var description: String {
        "invalid \(rmType): " + problems.map(\.description).joined(separator: "; ")
    }
}
