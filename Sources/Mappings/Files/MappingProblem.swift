/// Why a mapping file, or a set of them, cannot be used: the file, the line
/// and column in it (1-based, where known), and the reason.
public struct MappingProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var column: Int?
    public var reason: String

    public init(file: String, line: Int? = nil, column: Int? = nil, reason: String) {
        self.file = file
        self.line = line
        self.column = column
        self.reason = reason
    }

    /// `file:line:column: reason`, as compilers print it.
    public var description: String {
        var place = file
        if let line { place += ":\(line)" }
        if let line, line > 0, let column { place += ":\(column)" }
        return "\(place): \(reason)"
    }
}

/// Every problem of a file, reported together.
public struct MappingFileError: Error, Sendable, CustomStringConvertible {
    public var problems: [MappingProblem]

    public init(_ problems: [MappingProblem]) { self.problems = problems }

    public var description: String { problems.map(\.description).joined(separator: "\n") }
}
