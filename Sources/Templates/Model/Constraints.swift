/// An interval of a constraint (`occurrences`, `existence`, a magnitude
/// range); a missing bound is unbounded.
public struct ConstraintInterval<Bound: Comparable & Sendable>: Sendable, Equatable {
    public var lower: Bound?
    public var upper: Bound?
    public var lowerIncluded: Bool
    public var upperIncluded: Bool

    public init(lower: Bound?, upper: Bound?, lowerIncluded: Bool = true, upperIncluded: Bool = true) {
        self.lower = lower
        self.upper = upper
        self.lowerIncluded = lowerIncluded
        self.upperIncluded = upperIncluded
    }

    public func contains(_ value: Bound) -> Bool {
        if let lower { if lowerIncluded ? value < lower : value <= lower { return false } }
        if let upper { if upperIncluded ? value > upper : value >= upper { return false } }
        return true
    }

    /// `0..1`, `1..*`, `>=0.0`: for messages.
    public var text: String {
        switch (lower, upper) {
        case (let lower?, let upper?) where lowerIncluded && upperIncluded: "\(lower)..\(upper)"
        case (let lower?, nil): "\(lowerIncluded ? ">=" : ">")\(lower)"
        case (nil, let upper?): "\(upperIncluded ? "<=" : "<")\(upper)"
        case (let lower?, let upper?): "\(lowerIncluded ? "[" : "(")\(lower)..\(upper)\(upperIncluded ? "]" : ")")"
        case (nil, nil): "*"
        }
    }
}

/// C_PRIMITIVE (AM 1.4 §C_PRIMITIVE): the constraint on a leaf value.
public enum CPrimitive: Sendable, Equatable {
    case string(pattern: String?, list: [String])
    case integer(list: [Int], range: ConstraintInterval<Int>?)
    case real(list: [Double], range: ConstraintInterval<Double>?)
    case boolean(trueValid: Bool, falseValid: Bool)
    case date(pattern: String?)
    case time(pattern: String?)
    case dateTime(pattern: String?)
    case duration(pattern: String?, range: ConstraintInterval<String>?)
}

/// One allowed unit of a C_DV_QUANTITY with its magnitude and precision.
public struct QuantityItem: Sendable, Equatable {
    public var units: String
    public var magnitude: ConstraintInterval<Double>?
    public var precision: ConstraintInterval<Int>?
}

/// One allowed value of a C_DV_ORDINAL.
public struct OrdinalItem: Sendable, Equatable {
    public var value: Int
    public var terminology: String
    public var code: String
}

/// An archetype term: its text and description in the template's language.
public struct ArchetypeTerm: Sendable, Equatable {
    public var text: String
    public var description: String
    /// The term's `comment` item, where the archetype gives one.
    public var comment: String? = nil
    /// The term in the template's other languages (the OPT's `ontology` and
    /// `component_ontologies`), in the order the template lists them.
    public var translations: [Translation] = []
    /// The term's bindings to external terminologies (the archetype's
    /// `term_bindings`), in the order the template gives them.
    public var bindings: [Binding] = []

    public struct Binding: Sendable, Equatable {
        /// The terminology as the binding names it (`SNOMED-CT`, `LNC205`).
        public var terminology: String
        public var terminologyID: String
        public var code: String
    }

    public struct Translation: Sendable, Equatable {
        public var language: String
        public var text: String
        public var description: String
    }
}

extension CObject {
    /// The constraint an ARCHETYPE_INTERNAL_REF points to: `targetPath` is
    /// read from the archetype root that contains it (AM 1.4
    /// §ARCHETYPE_INTERNAL_REF), searched from this definition down.
    public func internalReference(_ targetPath: String) -> CObject? {
        var nodes: [CObject] = [self]
        var found: CObject?
        func search(_ object: CObject, _ segments: ArraySlice<(String, String?)>) -> CObject? {
            guard let (name, node) = segments.first else { return object }
            guard let attribute = object.attribute(name) else { return nil }
            for child in attribute.children where node == nil || child.nodeID == node || child.archetypeID == node {
                if let hit = search(child, segments.dropFirst()) { return hit }
            }
            return nil
        }
        let segments = targetPath.split(separator: "/").map { segment -> (String, String?) in
            guard let open = segment.firstIndex(of: "["), segment.hasSuffix("]") else { return (String(segment), nil) }
            return (String(segment[..<open]), String(segment[segment.index(after: open)..<segment.index(before: segment.endIndex)]))
        }
        while let node = nodes.popLast(), found == nil {
            if node.archetypeID != nil { found = search(node, segments[...]) }
            for attribute in node.attributes { nodes.append(contentsOf: attribute.children) }
        }
        return found
    }
}
