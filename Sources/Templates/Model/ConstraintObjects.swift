/// A node of the operational template's definition (AM 1.4 §C_OBJECT and
/// its OPT subtypes): what an RM object at that place may be.
public struct CObject: Sendable {
    public enum Kind: Sendable, Equatable {
        /// C_COMPLEX_OBJECT: an RM object with constrained attributes.
        case complex
        /// C_ARCHETYPE_ROOT: where an archetype is used, with its id and terms.
        case archetypeRoot(archetypeID: String)
        /// ARCHETYPE_SLOT: archetypes matching these id patterns may be put here.
        case slot(includes: [String], excludes: [String])
        /// ARCHETYPE_INTERNAL_REF: the same constraint as the node at `targetPath`.
        case internalReference(targetPath: String)
        /// C_PRIMITIVE_OBJECT.
        case primitive(CPrimitive)
        /// C_CODE_PHRASE: a terminology and optionally a list of codes.
        case codePhrase(terminology: String?, codes: [String])
        /// C_DV_QUANTITY: a property and allowed units.
        case quantity(property: String?, items: [QuantityItem])
        /// C_DV_ORDINAL: allowed values with their symbols.
        case ordinal([OrdinalItem])
        /// CONSTRAINT_REF / C_CODE_REFERENCE: a code from an external value set.
        case constraintReference(String)
    }

    public var kind: Kind
    public var rmTypeName: String
    public var nodeID: String
    public var occurrences: ConstraintInterval<Int>
    public var attributes: [CAttribute]
    /// At an archetype root: the term definitions, by code.
    public var terms: [String: ArchetypeTerm]
    /// A C_CODE_PHRASE bound to a value set instead of a terminology
    /// (`referenceSetUri`, `terminology://…`).
    public var referenceSetURI: String? = nil
    /// The type parameter of a generic RM type (`DV_INTERVAL<DV_COUNT>`: DV_COUNT).
    public var genericParameter: String? = nil
    /// The value assumed when data leaves it out (AM 1.4 `assumed_value`), as
    /// written: a C_PRIMITIVE's under `value`, a C_CODE_PHRASE's `code`, a
    /// C_DV_QUANTITY's `magnitude` and `units`, a C_DV_ORDINAL's `code`.
    public var assumedValue: [String: String] = [:]

    /// The RM type as the template writes it, with its parameter.
    public var fullTypeName: String { genericParameter.map { "\(rmTypeName)<\($0)>" } ?? rmTypeName }

    /// The code of the term that names the node: its node id, or at an
    /// archetype root its root code, `at0000` or a specialised archetype's
    /// `at0000.1` (ADL 1.4 §specialisation: the root code is specialised too).
    public var termCode: String {
        guard archetypeID != nil else { return nodeID }
        return nodeID.hasPrefix("at0000") && terms[nodeID] != nil ? nodeID : "at0000"
    }

    public func attribute(_ name: String) -> CAttribute? { attributes.first { $0.name == name } }

    public var archetypeID: String? {
        if case .archetypeRoot(let id) = kind { return id }
        return nil
    }
}

/// C_ATTRIBUTE (single or multiple): existence, cardinality and the
/// alternatives for the attribute's value(s).
public struct CAttribute: Sendable {
    public var name: String
    public var existence: ConstraintInterval<Int>
    public var isMultiple: Bool
    public var cardinality: ConstraintInterval<Int>?
    public var isOrdered: Bool
    public var isUnique: Bool
    public var children: [CObject]
}

/// One annotation of a template: the archetype path of the node it is about
/// (`[root]/content[id,'name']/items[at0002]`) and its items (`FHIR`,
/// `source`, `helpText`, …) in the order the template gives them.
public struct TemplateAnnotation: Sendable, Equatable {
    public var path: String
    public var items: [Item]

    public struct Item: Sendable, Equatable {
        public var key: String
        public var value: String
    }
}

/// OPERATIONAL_TEMPLATE (OPT 1.4): the template as uploaded and its
/// definition, ready for validation and for generating web templates.
public struct OperationalTemplate: Sendable {
    public var templateID: String
    public var concept: String
    public var language: String
    /// The template's language first, then the other languages its
    /// ontologies translate the terms into.
    public var languages: [String]
    public var uid: String?
    public var definition: CObject
    /// The template's annotations (TEMPLATE.annotations), in document order.
    public var annotations: [TemplateAnnotation]
    /// Default values the template gives to data values (`constraints`:
    /// `default_value` at a differential path), by the path of the attribute
    /// (`[root]/…/items[at0004]/value`); the value's parts as written
    /// (`value`, `magnitude`, `units`, `code`, `numerator`, `denominator`).
    public var defaultValues: [(path: String, parts: [String: String])] = []

    /// The archetype id of the root (the COMPOSITION's archetype).
    public var rootArchetypeID: String { definition.archetypeID ?? "" }
}
