import Foundation
import JSONCore

/// Extracts the index entries of every R4 search parameter of a resource's
/// type (R4 §Search: the parameter's FHIRPath expression selects the
/// elements, its type says how each is indexed), and the compartments the
/// resource belongs to (R4 §CompartmentDefinition).
public final class SearchIndexer: Sendable {
    public static let r4 = SearchIndexer()

    struct Compiled: Sendable {
        let definition: SearchParameterDefinition
        let expression: FHIRPathExpression
        let components: [(type: SearchParameterDefinition.ParameterType, expression: FHIRPathExpression)]
        /// The expression as plain member paths from a type (`Patient.name.family`,
        /// and unions of them), followed without the general evaluator; nil for
        /// any other expression.
        let paths: [(type: String, names: [String])]?
        let isUnion: Bool
    }

    let byType: [String: [Compiled]]
    /// Parameters whose expression does not parse (none in R4; kept to tell).
    public let unparsed: [String]

    private init() {
        let schema = FHIRSchema.r4
        let byURL = Dictionary(schema.searchParameters.map { ($0.url, $0) }, uniquingKeysWith: { a, _ in a })
        var byType: [String: [Compiled]] = [:]
        var unparsed: [String] = []
        for (type, definition) in schema.types where definition.kind == .resource && !definition.isAbstract {
            // Of the special parameters, `near` (Location.position) is indexed; the others (`_text`, `_content`…) are not.
            for parameter in schema.searchParameters(for: type)
            where !parameter.expression.isEmpty && (parameter.type != .special || parameter.code == "near") {
                do {
                    let expression = Self.prune(try FHIRPathCache.shared.parse(parameter.expression), for: type)
                    var components: [(SearchParameterDefinition.ParameterType, FHIRPathExpression)] = []
                    for component in parameter.components {
                        guard let target = byURL[component.definition] else { continue }
                        components.append((target.type, try FHIRPathCache.shared.parse(component.expression)))
                    }
                    var isUnion = false
                    if case .binary("|", _, _) = expression { isUnion = true }
                    byType[type, default: []].append(
                        Compiled(definition: parameter, expression: expression, components: components, paths: Self.memberPaths(expression), isUnion: isUnion))
                } catch {
                    unparsed.append("\(parameter.url): \(error)")
                }
            }
        }
        self.byType = byType
        self.unparsed = unparsed.sorted()
    }

    /// Drops the branches of a union that start from another resource type
    /// (`AllergyIntolerance.code | Condition.code | …` compiled for
    /// Condition keeps `Condition.code`): they can only be empty there, and
    /// the shared parameters of R4 list up to thirty types.
    static func prune(_ expression: FHIRPathExpression, for type: String) -> FHIRPathExpression {
        guard case .binary("|", let left, let right) = expression else {
            if let root = rootTypeName(expression), !FHIRSchema.r4.isType(type, a: root) { return .empty }
            return expression
        }
        switch (prune(left, for: type), prune(right, for: type)) {
        case (.empty, .empty): return .empty
        // Still a union, which removes duplicates (two names both given "Jim").
        case (.empty, let kept), (let kept, .empty): return .binary("|", kept, .empty)
        case (let l, let r): return .binary("|", l, r)
        }
    }

    /// `Type.a.b` and unions of such paths as (type, [a, b]) each; nil when
    /// the expression is anything else.
    static func memberPaths(_ expression: FHIRPathExpression) -> [(type: String, names: [String])]? {
        switch expression {
        case .empty: return []
        case .binary("|", let left, let right):
            guard let l = memberPaths(left), let r = memberPaths(right) else { return nil }
            return l + r
        case .member:
            var names: [String] = []
            var current = expression
            while case .member(let target, let name) = current {
                guard let target else {
                    // The first step names the type (upper-case initial, a known type).
                    guard rootTypeName(current) == name else { return nil }
                    return names.isEmpty ? nil : [(name, names.reversed())]
                }
                names.append(name)
                current = target
            }
            return nil
        default: return nil
        }
    }

    /// The nodes a member path reaches from the resource; nil where the
    /// general evaluator would have to decide (an element the type does not
    /// declare), so that it is asked instead.
    static func follow(_ paths: [(type: String, names: [String])], from root: FHIRNode, isUnion: Bool) -> [FHIRPathValue]? {
        var result: [FHIRPathValue] = []
        for path in paths {
            guard FHIRSchema.r4.isType(root.type, a: path.type) else { continue }
            var nodes = [root]
            for name in path.names {
                var next: [FHIRNode] = []
                for node in nodes {
                    guard let children = node.children(named: name) else { return nil }
                    next += children
                }
                nodes = next
                if nodes.isEmpty { break }
            }
            let values = nodes.map { FHIRPathValue.node($0) }
            result = isUnion ? FHIRPathEvaluator.union(result, values) : result + values
        }
        return result
    }

    /// The type an expression starts from when it starts with a type name (`Condition.code.where(…)`).
    static func rootTypeName(_ expression: FHIRPathExpression) -> String? {
        switch expression {
        case .member(nil, let name):
            guard let first = name.utf8.first, first >= UInt8(ascii: "A"), first <= UInt8(ascii: "Z"), FHIRSchema.r4.type(name) != nil else { return nil }
            return name
        case .member(let target?, _), .function(let target?, _, _), .indexer(let target, _), .typeOperation(_, let target, _):
            return rootTypeName(target)
        default:
            return nil
        }
    }

    /// Every index entry of `resource`; expressions that fail on it are
    /// reported in `failures` rather than stopping the others.
    public func entries(for resource: JSON, failures: inout [String]) -> [SearchIndexEntry] {
        entries(for: resource, failures: &failures, followingMemberPaths: true)
    }

    /// `followingMemberPaths: false` evaluates every expression with the
    /// general FHIRPath evaluator (tests compare both ways).
    func entries(for resource: JSON, failures: inout [String], followingMemberPaths: Bool, only codes: Set<String>? = nil) -> [SearchIndexEntry] {
        let root = FHIRNode(resource: resource, tracksLocation: false)
        var result: [SearchIndexEntry] = []
        var context = FHIRPathContext(resource: root)
        context.collectionAs = true
        let evaluator = FHIRPathEvaluator(context: context)
        for compiled in byType[root.type] ?? [] where codes?.contains(compiled.definition.code) ?? true {
            let parameter = compiled.definition
            do {
                let items =
                    try (followingMemberPaths ? compiled.paths : nil).flatMap { Self.follow($0, from: root, isUnion: compiled.isUnion) }
                    ?? evaluator.evaluate(compiled.expression, input: [.node(root)], frame: .init(this: .node(root)))
                if parameter.type == .composite {
                    for item in items {
                        for value in try composite(item, compiled.components, evaluator) {
                            result.append(SearchIndexEntry(code: parameter.code, type: .composite, value: value))
                        }
                    }
                    continue
                }
                for item in items {
                    for value in Self.values(of: item, as: parameter.type, in: root) {
                        result.append(SearchIndexEntry(code: parameter.code, type: parameter.type, value: value))
                    }
                    result += Self.modifierEntries(of: item, parameter)
                }
            } catch {
                failures.append("\(parameter.url): \(error)")
            }
        }
        return result
    }

    /// What the `:identifier` modifier of a reference parameter and the
    /// `:of-type` modifier of an identifier token match (R4 search §reference,
    /// §token), as entries of their own under `code:identifier` and
    /// `code:of-type`: a Reference's logical identifier (system, value); an
    /// Identifier's type coding (system, and code `|` value).
    static func modifierEntries(of item: FHIRPathValue, _ parameter: SearchParameterDefinition) -> [SearchIndexEntry] {
        guard case .node(let node) = item, let json = node.value else { return [] }
        if parameter.type == .reference, node.type == "Reference", let identifier = json["identifier"], let value = identifier["value"]?.stringValue {
            return [SearchIndexEntry(code: parameter.code + ":identifier", type: .token, value: .token(system: identifier["system"]?.stringValue, code: value, text: nil))]
        }
        if parameter.type == .token, node.type == "Identifier", let value = json["value"]?.stringValue {
            return (json["type"]?["coding"]?.arrayValue ?? []).compactMap { coding in
                coding["code"]?.stringValue.map { code in
                    SearchIndexEntry(code: parameter.code + ":of-type", type: .token, value: .token(system: coding["system"]?.stringValue, code: code + "|" + value, text: nil))
                }
            }
        }
        return []
    }

    public func entries(for resource: JSON) -> [SearchIndexEntry] {
        var failures: [String] = []
        return entries(for: resource, failures: &failures)
    }

    func composite(
        _ item: FHIRPathValue, _ components: [(type: SearchParameterDefinition.ParameterType, expression: FHIRPathExpression)],
        _ evaluator: FHIRPathEvaluator
    ) throws(FHIRPathError) -> [SearchValue] {
        var combinations: [[SearchValue]] = [[]]
        guard case .node(let root) = item else { return [] }
        for component in components {
            let found = try evaluator.evaluate(component.expression, input: [item], frame: .init(this: item))
            let values = found.flatMap { Self.values(of: $0, as: component.type, in: root) }
            if values.isEmpty { return [] }
            combinations = combinations.flatMap { prefix in values.map { prefix + [$0] } }
        }
        return combinations.map { .composite($0) }
    }

    /// The resource types and ids of the compartments the resource is in
    /// (R4 §Compartments: through the parameters each CompartmentDefinition
    /// lists; a Patient is in its own compartment).
    public func compartments(of resource: JSON) -> [(compartment: String, id: String)] {
        let type = resource["resourceType"]?.stringValue ?? ""
        var result: [(String, String)] = []
        if let id = resource["id"]?.stringValue, FHIRSchema.r4.compartments[type] != nil { result.append((type, id)) }
        // Only the parameters that link a compartment to this type are evaluated.
        let linking = Set(FHIRSchema.r4.compartments.values.flatMap { $0[type] ?? [] })
        var failures: [String] = []
        let entries = linking.isEmpty ? [] : self.entries(for: resource, failures: &failures, followingMemberPaths: true, only: linking)
        for (compartment, byType) in FHIRSchema.r4.compartments.sorted(by: { $0.key < $1.key }) {
            guard let parameters = byType[type] else { continue }
            for entry in entries where parameters.contains(entry.code) {
                if case .reference(let target?, let id?, _, _) = entry.value, target == compartment,
                    !result.contains(where: { $0 == (compartment, id) })
                {
                    result.append((compartment, id))
                }
            }
        }
        return result
    }
}
