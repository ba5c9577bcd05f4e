import JSONCore

/// A condition's operator applied, the same way on both sides (FHIRconnect
/// §Conditions): to one element, by the values its target attributes
/// reach; over the elements at its root, some or all of them.
extension ConditionOperator {
    /// On one element: `values` its attributes reach (as text), whether they
    /// reach anything at all, and the element's type (FHIR type or RM type,
    /// compared without case) for `type`.
    func test(values: Set<String>, reached: Bool, type: String, criteria: [String]) -> Bool {
        switch self {
        case .oneOf: criteria.contains { values.contains(Self.criterion($0)) }
        case .notOf: !criteria.contains { values.contains(Self.criterion($0)) }
        case .empty: !reached
        case .notEmpty: reached
        case .type: criteria.contains { $0.lowercased() == type.lowercased() }
        }
    }

    /// Over the elements at the condition's root: some pass (`one of`,
    /// `not empty`, `type`), or all do (`not of`, `empty`).
    func holds<Element>(over elements: [Element], _ test: (Element) -> Bool) -> Bool {
        switch self {
        case .oneOf, .type, .notEmpty: elements.contains(where: test)
        case .notOf, .empty: elements.allSatisfy(test)
        }
    }

    /// A criterion as written; `[x]` brackets around one value are the list notation of some files.
    static func criterion(_ text: String) -> String {
        text.hasPrefix("[") && text.hasSuffix("]") ? String(text.dropFirst().dropLast()) : text
    }
}

extension JSON {
    /// A scalar's text, as conditions compare it (`true`, `12.5`); nil for objects, lists and null.
    var scalarText: String? {
        switch self {
        case .string(let text): text
        case .number(let text): text
        case .bool(let flag): flag ? "true" : "false"
        default: nil
        }
    }
}
