import Foundation
import JSONCore

/// What an evaluation needs beyond the expression: the resource it starts
/// from, named variables, and how references resolve.
public struct FHIRPathContext: Sendable {
    /// %resource and %rootResource; also the input of the expression
    /// (nil: the expression starts from an empty collection).
    public var resource: FHIRNode?
    public var rootResource: FHIRNode?
    public var variables: [String: [FHIRPathValue]] = [:]
    /// Refuses a path naming a type that is not the context's (the test
    /// suite's "strict" mode).
    public var strict = false
    /// Refuses ordered functions after children()/descendants().
    public var checkOrderedFunctions = false
    /// `as` filters a collection of several items instead of refusing it,
    /// as the R4 search parameter expressions (`(X.value as Quantity)` over
    /// repeating elements) and invariants (dom-3:
    /// `%resource.descendants().as(canonical)`) need and FHIR servers do.
    public var collectionAs = false
    /// A name no element of the type has gives empty instead of an error:
    /// for the R4 invariants, one of which (cid-0) names an element its
    /// resource does not have.
    public var unknownElementsAreEmpty = false
    /// Finds the resource a reference points to (resolve()).
    public var resolver: (@Sendable (String) -> FHIRNode?)?
    /// The value sets memberOf() can answer from, by URL.
    public var valueSets: [String: Set<String>] = FHIRSchema.r4.valueSets
    /// Receives trace() output.
    public var trace: (@Sendable (String, [FHIRPathValue]) -> Void)?
    /// Now, for now(), today() and timeOfDay(); fixed for one evaluation.
    public var now = Date()

    public init(resource: FHIRNode?, rootResource: FHIRNode? = nil) {
        self.resource = resource
        self.rootResource = rootResource
    }
}

/// Evaluates a parsed expression (FHIRPath 2.0 §Semantics): collections in,
/// collections out, empty for missing values, errors for what cannot be.
public struct FHIRPathEvaluator {
    let context: FHIRPathContext

    struct Frame {
        var this: FHIRPathValue?
        var index: Int?
        var total: [FHIRPathValue]?
        /// The collection came from children()/descendants() (no order).
        var unordered = false
    }

    public init(context: FHIRPathContext) {
        self.context = context
    }

    /// Evaluates against the context resource.
    public static func evaluate(_ expression: FHIRPathExpression, context: FHIRPathContext) throws(FHIRPathError) -> [FHIRPathValue] {
        let evaluator = FHIRPathEvaluator(context: context)
        let input: [FHIRPathValue] = context.resource.map { [.node($0)] } ?? []
        return try evaluator.evaluate(expression, input: input, frame: Frame(this: input.first))
    }

    /// Parses and evaluates.
    public static func evaluate(_ source: String, on resource: FHIRNode) throws(FHIRPathError) -> [FHIRPathValue] {
        try evaluate(FHIRPathCache.shared.parse(source), context: FHIRPathContext(resource: resource))
    }

    func evaluate(_ expression: FHIRPathExpression, input: [FHIRPathValue], frame: Frame) throws(FHIRPathError) -> [FHIRPathValue] {
        switch expression {
        case .literal(let value): return [value]
        case .empty: return []
        case .this: return frame.this.map { [$0] } ?? input
        case .index: return frame.index.map { [.integer($0)] } ?? []
        case .total: return frame.total ?? []
        case .variable(let name): return try variable(name)
        case .member(let target, let name):
            if let target {
                try Self.checkMemberOfCast(target, name)
                let items = try evaluate(target, input: input, frame: frame)
                return try member(name, of: items, root: false)
            }
            return try member(name, of: input, root: true)
        case .function(let target, let name, let arguments):
            var items = input
            var unordered = false
            if let target {
                items = try evaluate(target, input: input, frame: frame)
                unordered = Self.isUnordered(target)
            } else if let this = frame.this {
                items = [this]
            }
            if context.checkOrderedFunctions && unordered && Self.orderedFunctions.contains(name) {
                throw FHIRPathError(.semantic, "\(name)() needs an ordered collection; children() and descendants() have no order")
            }
            return try call(name, arguments, on: items, frame: frame)
        case .indexer(let target, let indexExpression):
            let items = try evaluate(target, input: input, frame: frame)
            let index = try evaluate(indexExpression, input: input, frame: frame)
            guard let position = try singleInteger(index, "the indexer") else { return [] }
            return items.indices.contains(position) ? [items[position]] : []
        case .unary(let op, let operand):
            let items = try evaluate(operand, input: input, frame: frame)
            guard op == "-" else { return items }
            return try items.map { (value) throws(FHIRPathError) -> FHIRPathValue in
                switch value.system {
                case .integer(let i):
                    let (negated, overflow) = (0).subtractingReportingOverflow(i)
                    if overflow { throw FHIRPathError(.execution, "-\(i) is outside the integers") }
                    return .integer(negated)
                case .decimal(let d): return .decimal(FHIRPathDecimal(-d.value, scale: d.scale))
                case .quantity(var q): q.value = FHIRPathDecimal(-q.value.value, scale: q.value.scale); return .quantity(q)
                default: throw FHIRPathError(.execution, "unary minus applies to numbers and quantities")
                }
            }
        case .binary(let op, let left, let right):
            return try binary(op, left, right, input: input, frame: frame)
        case .typeOperation(let op, let operand, let type):
            try Self.checkKnown(type)
            let items = try evaluate(operand, input: input, frame: frame)
            if op == "is" {
                guard !items.isEmpty else { return [] }
                guard items.count == 1 else { throw FHIRPathError(.execution, "'is' applies to one item, got \(items.count)") }
                return [.boolean(isType(items[0], type))]
            }
            guard items.count <= 1 || context.collectionAs else {
                throw FHIRPathError(.execution, "'as' applies to one item, got \(items.count)")
            }
            return items.filter { isExactType($0, type) }
        }
    }

    static let orderedFunctions: Set<String> = ["skip", "take", "first", "last", "tail", "single"]

    static func isUnordered(_ expression: FHIRPathExpression) -> Bool {
        if case .function(_, let name, _) = expression { return name == "children" || name == "descendants" }
        return false
    }

    func variable(_ name: String) throws(FHIRPathError) -> [FHIRPathValue] {
        if let value = context.variables[name] { return value }
        switch name {
        case "resource", "context": return context.resource.map { [.node($0)] } ?? []
        case "rootResource": return (context.rootResource ?? context.resource).map { [.node($0)] } ?? []
        case "ucum": return [.string("http://unitsofmeasure.org")]
        case "sct": return [.string("http://snomed.info/sct")]
        case "loinc": return [.string("http://loinc.org")]
        default:
            if name.hasPrefix("vs-") { return [.string("http://hl7.org/fhir/ValueSet/" + name.dropFirst(3))] }
            if name.hasPrefix("ext-") { return [.string("http://hl7.org/fhir/StructureDefinition/" + name.dropFirst(4))] }
            throw FHIRPathError(.semantic, "unknown variable %\(name)")
        }
    }

    /// Navigation by name (FHIRPath §Path selection); at the start of a path
    /// a type name selects the input when it is of that type.
    func member(_ name: String, of items: [FHIRPathValue], root: Bool) throws(FHIRPathError) -> [FHIRPathValue] {
        let schema = FHIRSchema.r4
        if root, let first = name.utf8.first, first >= UInt8(ascii: "A"), first <= UInt8(ascii: "Z"), schema.type(name) != nil {
            let matching = items.filter { if case .node(let node) = $0 { return schema.isType(node.type, a: name) } else { return false } }
            if matching.isEmpty && context.strict && !items.isEmpty {
                throw FHIRPathError(.semantic, "the context is not a \(name)")
            }
            if !matching.isEmpty || schema.isResourceType(name) { return matching }
        }
        var result: [FHIRPathValue] = []
        for item in items {
            switch item {
            case .node(let node):
                guard let children = node.children(named: name) else {
                    // Unknown for every item of one type: the path cannot exist
                    // (mixed collections, as from descendants(), may hold it elsewhere).
                    if Self.declaresElement(node, name) { continue }
                    let sameType = items.allSatisfy { if case .node(let other) = $0 { return other.type == node.type } else { return false } }
                    if sameType && !context.unknownElementsAreEmpty { throw FHIRPathError(.semantic, "\(node.type) has no element '\(name)'") }
                    continue
                }
                for child in children { result.append(.node(child)) }
            case .quantity(let quantity):
                if name == "value" { result.append(.decimal(quantity.value)) }
                if name == "unit" || name == "code" { result.append(.string(quantity.unit)) }
            case .typeInfo(let namespace, let typeName):
                if name == "namespace" { result.append(.string(namespace)) }
                if name == "name" { result.append(.string(typeName)) }
            default: continue
            }
        }
        return result
    }

    /// A node reached through a choice element may be of any of its types: a
    /// name valid for another of them is not an error.
    static func declaresElement(_ node: FHIRNode, _ name: String) -> Bool {
        guard let element = node.element else { return false }
        // A slot for any resource (contained, Bundle.entry.resource) holds many types.
        if element.types.contains("Resource") { return true }
        guard element.isChoice else { return false }
        return element.types.contains { FHIRSchema.r4.type($0)?.elementsByName[name] != nil }
    }

    func singleInteger(_ items: [FHIRPathValue], _ what: String) throws(FHIRPathError) -> Int? {
        guard let item = items.first else { return nil }
        guard items.count == 1, case .integer(let value) = item.system else {
            throw FHIRPathError(.execution, "\(what) must be one integer")
        }
        return value
    }

    /// The singleton boolean of a collection (FHIRPath §Singleton evaluation).
    func boolean(_ items: [FHIRPathValue], _ what: String) throws(FHIRPathError) -> Bool? {
        guard let item = items.first else { return nil }
        guard items.count == 1 else { throw FHIRPathError(.execution, "\(what) must be a single boolean, got \(items.count) items") }
        if case .boolean(let value) = item.system { return value }
        return true
    }

    func isType(_ value: FHIRPathValue, _ specifier: TypeSpecifier) -> Bool {
        let schema = FHIRSchema.r4
        switch value {
        case .node(let node):
            if specifier.namespace == "System" { return false }
            if specifier.namespace == nil, schema.type(specifier.name) == nil { return false }
            return schema.isType(node.type, a: specifier.name)
                || (node.type.contains(".") && (specifier.name == "BackboneElement" || specifier.name == "Element"))
        default:
            if specifier.namespace == "FHIR" { return false }
            let name = value.typeName.name
            return specifier.name == name || (specifier.name == "Object")
        }
    }

    func isExactType(_ value: FHIRPathValue, _ specifier: TypeSpecifier) -> Bool {
        switch value {
        case .node(let node):
            if specifier.namespace == "System" { return false }
            if node.type == specifier.name { return true }
            // Resources and complex types follow inheritance; primitives (code vs string) do not.
            return !FHIRSchema.r4.primitiveTypes.contains(node.type) && FHIRSchema.r4.isType(node.type, a: specifier.name)
        default:
            if specifier.namespace == "FHIR" { return false }
            return value.typeName.name == specifier.name
        }
    }

    static func typeSpecifier(_ expression: FHIRPathExpression) throws(FHIRPathError) -> TypeSpecifier {
        let specifier: TypeSpecifier
        switch expression {
        case .member(nil, let name): specifier = TypeSpecifier(namespace: nil, name: name)
        case .member(.member(nil, let namespace)?, let name): specifier = TypeSpecifier(namespace: namespace, name: name)
        default: throw FHIRPathError(.semantic, "a type name is expected")
        }
        try checkKnown(specifier)
        return specifier
    }

    static let systemTypes: Set<String> = ["Boolean", "Integer", "Decimal", "String", "Date", "DateTime", "Time", "Quantity"]

    /// A type named in is/as/ofType must exist in its namespace.
    static func checkKnown(_ specifier: TypeSpecifier) throws(FHIRPathError) {
        let fhir = FHIRSchema.r4.type(specifier.name) != nil
        let system = systemTypes.contains(specifier.name)
        let known: Bool
        switch specifier.namespace {
        case nil: known = fhir || system
        case "FHIR": known = fhir
        case "System": known = system || fhir
        default: known = false
        }
        if !known { throw FHIRPathError(.semantic, "unknown type \((specifier.namespace.map { $0 + "." } ?? "") + specifier.name)") }
    }

    /// `(x as Period).unit`: a member of a value cast to a FHIR type must be
    /// an element of that type, whether or not the cast finds anything.
    static func checkMemberOfCast(_ target: FHIRPathExpression, _ name: String) throws(FHIRPathError) {
        let cast: TypeSpecifier?
        switch target {
        case .typeOperation("as", _, let type): cast = type
        case .function(_, "as", let arguments), .function(_, "ofType", let arguments):
            cast = arguments.count == 1 ? try? typeSpecifier(arguments[0]) : nil
        default: cast = nil
        }
        guard let cast, cast.namespace != "System", let type = FHIRSchema.r4.type(cast.name), type.kind != .primitiveType else { return }
        if type.elementsByName[name] == nil {
            throw FHIRPathError(.semantic, "\(cast.name) has no element '\(name)'")
        }
    }
}

/// Parsed expressions by source text, so that search parameters and
/// invariants are parsed once per process.
public final class FHIRPathCache: @unchecked Sendable {
    public static let shared = FHIRPathCache()
    private var cache: [String: FHIRPathExpression] = [:]
    private let lock = NSLock()

    public func parse(_ source: String) throws(FHIRPathError) -> FHIRPathExpression {
        lock.lock()
        if let found = cache[source] {
            lock.unlock()
            return found
        }
        lock.unlock()
        let parsed = try FHIRPathParser.parse(source)
        lock.lock()
        cache[source] = parsed
        lock.unlock()
        return parsed
    }
}
