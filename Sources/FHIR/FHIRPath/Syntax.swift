/// A FHIRPath expression as parsed (FHIRPath 2.0 §Grammar).
public indirect enum FHIRPathExpression: Sendable {
    case literal(FHIRPathValue)
    case empty
    /// An identifier at the start of a path or after a dot.
    case member(FHIRPathExpression?, String)
    case function(FHIRPathExpression?, String, [FHIRPathExpression])
    case this
    case index
    case total
    case variable(String)
    case indexer(FHIRPathExpression, FHIRPathExpression)
    case unary(String, FHIRPathExpression)
    case binary(String, FHIRPathExpression, FHIRPathExpression)
    case typeOperation(String, FHIRPathExpression, TypeSpecifier)
}

/// A type name, qualified (`FHIR.Patient`, `System.String`) or not.
public struct TypeSpecifier: Sendable {
    public var namespace: String?
    public var name: String
}

/// Why an expression was refused: syntax, semantics (an element or type that
/// cannot be), or evaluation.
public struct FHIRPathError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable { case syntax, semantic, execution }
    public var kind: Kind
    public var message: String
    /// Offset in the expression (characters from 0), where known.
    public var position: Int?

    public init(_ kind: Kind, _ message: String, position: Int? = nil) {
        self.kind = kind
        self.message = message
        self.position = position
    }

    public var description: String {
        position.map { "\(kind.rawValue) error at \($0): \(message)" } ?? "\(kind.rawValue) error: \(message)"
    }
}
