import FHIR
import Templates

/// A FHIR path of a mapping (FHIRconnect §Basics, Variables and Path
/// operators): where it starts, then element names, type casts
/// (`ofType(T)`, openFHIR's `as(T)`) and `resolve()` of a reference. The
/// steps after the start are FHIRPath, parsed by the FHIR module's parser.
public struct FHIRMappingPath: Sendable, Equatable, CustomStringConvertible {
    public enum Start: Sendable, Equatable {
        /// `$resource`: the root of the mapped resource.
        case resource
        /// `$fhirRoot`: the parent method's FHIR path.
        case parent
        /// `^`, `^^`…: so many elements up from the parent method's path.
        case ancestor(Int)
        /// No variable: below the parent method's path.
        case relative
    }

    public enum Step: Sendable, Equatable {
        case element(String)
        case cast(String)
        case resolve
    }

    public let start: Start
    public let steps: [Step]
    public let text: String

    public var description: String { text }

    /// Parses `text`; the reason when it is not a mapping path.
    public static func parse(_ text: String) -> Result<FHIRMappingPath, PathError> {
        var rest = Substring(text.trimmingSpaces)
        let start: Start
        if rest.hasPrefix("$") {
            let variable = rest.prefix { $0 != "." }
            rest = rest.dropFirst(variable.count)
            switch variable.lowercased() {
            case "$resource": start = .resource
            case "$fhirroot": start = .parent
            default: return .failure(PathError("'\(variable)' is not a FHIR path variable (they are $resource and $fhirRoot)"))
            }
        } else if rest.hasPrefix("^") {
            let carets = rest.prefix { $0 == "^" }
            rest = rest.dropFirst(carets.count)
            start = .ancestor(carets.count)
        } else {
            start = .relative
        }
        if start != .relative {
            guard rest.isEmpty || rest.hasPrefix(".") else { return .failure(PathError("a '.' must follow the start of '\(text)'")) }
            rest = rest.dropFirst()
        }
        if rest.isEmpty {
            return start == .relative ? .failure(PathError("the FHIR path is empty")) : .success(FHIRMappingPath(start: start, steps: [], text: text))
        }
        let expression: FHIRPathExpression
        do {
            expression = try FHIRPathParser.parse(String(rest))
        } catch {
            return .failure(PathError("'\(text)' is not a FHIR path: \(error.message)"))
        }
        var steps: [Step] = []
        if let problem = Self.steps(of: expression, into: &steps) { return .failure(PathError("'\(text)': \(problem)")) }
        return .success(FHIRMappingPath(start: start, steps: steps, text: text))
    }

    /// Flattens a chain of members and calls; the reason when it is anything else.
    private static func steps(of expression: FHIRPathExpression, into steps: inout [Step]) -> String? {
        switch expression {
        case .member(let base, let name):
            if let base, let problem = Self.steps(of: base, into: &steps) { return problem }
            steps.append(.element(name))
            return nil
        case .function(let base, let name, let arguments):
            if let base, let problem = Self.steps(of: base, into: &steps) { return problem }
            switch (name, arguments.count) {
            case ("ofType", 1), ("as", 1):
                guard case .member(nil, let type) = arguments[0] else { return "\(name)() takes a type name" }
                steps.append(.cast(type))
            case ("resolve", 0):
                steps.append(.resolve)
            default:
                return "\(name)() is not a mapping path step (they are element names, ofType(T), as(T) and resolve())"
            }
            return nil
        default:
            return "only element names, ofType(T), as(T) and resolve() make a mapping path"
        }
    }
}

/// An openEHR path of a mapping: where it starts, `../` steps up, then
/// archetype path steps (`data[at0001]/items[openEHR-EHR-CLUSTER.x.v1]`).
public struct OpenEHRMappingPath: Sendable, Equatable, CustomStringConvertible {
    public enum Start: Sendable, Equatable {
        /// `$archetype`: the root of the mapped archetype.
        case archetype
        /// `$composition`: the composition that holds it.
        case composition
        /// `$openehrRoot`: the parent method's openEHR path.
        case parent
        /// `$reference`: the FHIR side is a reference, resolved by the method's
        /// `reference`; steps after it (openFHIR's files) say where the
        /// referenced resource's content goes.
        case reference
        /// No variable: below the parent method's path, `up` levels higher for each `../`.
        case relative(up: Int)
    }

    public let start: Start
    public let steps: [AQLStep]
    public let text: String
    /// The steps as the engines resolve them against the template
    /// (`MappingTemplate.key`, split into `/attribute[node]` segments), made once.
    let segments: [String]

    public var description: String { text }

    init(start: Start, steps: [AQLStep], text: String) {
        self.start = start
        self.steps = steps
        self.text = text
        segments = FlatWriter.split(MappingTemplate.key(steps))
    }

    public static func parse(_ text: String) -> Result<OpenEHRMappingPath, PathError> {
        var rest = Substring(text.trimmingSpaces)
        var start = Start.relative(up: 0)
        if rest.hasPrefix("$") {
            let variable = rest.prefix { $0 != "/" }
            rest = rest.dropFirst(variable.count)
            switch variable.lowercased() {
            case "$archetype": start = .archetype
            case "$composition": start = .composition
            case "$openehrroot": start = .parent
            case "$reference": start = .reference
            default:
                return .failure(PathError("'\(variable)' is not an openEHR path variable (they are $archetype, $composition, $openehrRoot and $reference)"))
            }
        } else {
            var up = 0
            while rest.hasPrefix("../") || rest == ".." {
                up += 1
                rest = rest.dropFirst(3)
            }
            start = .relative(up: up)
        }
        if rest.isEmpty {
            return start == .relative(up: 0) ? .failure(PathError("the openEHR path is empty")) : .success(OpenEHRMappingPath(start: start, steps: [], text: text))
        }
        guard let steps = AQLStep.parseComplete(String(rest)), !steps.isEmpty else {
            return .failure(PathError("'\(text)' is not an openEHR path: a predicate is not closed"))
        }
        if let bad = steps.first(where: { $0.attribute.isEmpty || !$0.attribute.allSatisfy(\.isRMAttributeCharacter) }) {
            return .failure(PathError("'\(text)' is not an openEHR path: '\(bad.attribute)' is not an attribute name"))
        }
        return .success(OpenEHRMappingPath(start: start, steps: steps, text: text))
    }
}

/// Why a mapping path was refused.
public struct PathError: Error, Sendable, Equatable {
    public let reason: String
    init(_ reason: String) { self.reason = reason }
}

extension Character {
    /// RM attribute names: lower-case letters, digits and underscores.
    var isRMAttributeCharacter: Bool { isASCII && (isLetter || isNumber || self == "_") }
}

extension String {
    var trimmingSpaces: Substring {
        let start = firstIndex { !$0.isWhitespace } ?? endIndex
        let end = lastIndex { !$0.isWhitespace }.map { index(after: $0) } ?? start
        return self[start..<end]
    }
}
