/// The version of the FHIRconnect grammar a file declares (`FHIRConnect/v1.0.0`).
public struct GrammarVersion: Sendable, Equatable, Comparable, CustomStringConvertible {
    public let major: Int, minor: Int, patch: Int

    /// The versions read: the specification's 1.0.0 and the earlier ones openFHIR's files are written in.
    public static let supported: [GrammarVersion] = [.init(0, 0, 1), .init(0, 9, 0), .init(1, 0, 0)]

    public init(_ major: Int, _ minor: Int, _ patch: Int) {
        (self.major, self.minor, self.patch) = (major, minor, patch)
    }

    /// `FHIRConnect/v1.0.0`; nil for anything else.
    init?(declaration: String) {
        let prefix = "FHIRConnect/v"
        guard declaration.hasPrefix(prefix) else { return nil }
        let numbers = declaration.dropFirst(prefix.count).split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
        guard numbers.count == 3, let major = numbers[0], let minor = numbers[1], let patch = numbers[2] else { return nil }
        self.init(major, minor, patch)
    }

    public static func < (a: GrammarVersion, b: GrammarVersion) -> Bool { (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch) }
    public var description: String { "FHIRConnect/v\(major).\(minor).\(patch)" }
}

/// What every file says of itself (§Basics, Header).
public struct MappingHeader: Sendable, Equatable {
    public let file: String
    public let grammar: GrammarVersion
    /// `metadata.name`: how contexts and other mappings refer to this one.
    public let name: String
    public let version: String
}

/// A mapping file: a context, or a model mapping (which an extension mapping also is).
public enum MappingDocument: Sendable {
    case context(ContextMapping)
    case model(ModelMapping)

    public var header: MappingHeader {
        switch self {
        case .context(let context): context.header
        case .model(let model): model.header
        }
    }
}

/// Which template and FHIR profile a set of model mappings maps, and where
/// the mapping starts (§Types of mapping files, Context mappings).
public struct ContextMapping: Sendable {
    public let header: MappingHeader
    /// `profile.url`: the FHIR profile (a resource's `meta.profile`) or resource type.
    public let profileURL: String?
    public let profileVersion: String?
    public let templateID: String
    public let templateVersion: String?
    /// The model mappings used, by name.
    public let archetypes: [String]
    /// The extension mappings applied to them, by name.
    public let extensions: [String]
    /// The model mapping the engine begins with.
    public let start: String
}

/// A model mapping (an archetype against a FHIR resource or element), or an
/// extension mapping that changes one (§Model mappings, Extension mappings).
public struct ModelMapping: Sendable {
    public enum Kind: Sendable, Equatable {
        case model
        /// Extends the model mapping of that name.
        case `extension`(extends: String)
    }

    public let header: MappingHeader
    public let kind: Kind
    /// `spec.openEhrConfig.archetype`.
    public let archetype: String?
    /// `spec.fhirConfig.structureDefinition`.
    public let structureDefinition: String?
    public let preprocessor: Preprocessor
    public internal(set) var methods: [MappingMethod]
}

/// What decides whether, and how often, a model mapping applies (§Conditions
/// in the preprocessor, Hierarchy mappings).
public struct Preprocessor: Sendable {
    public var fhirConditions: [FHIRCondition] = []
    public var openEHRConditions: [OpenEHRCondition] = []
    public var hierarchy: Hierarchy?

    public init() {}
}

/// A hierarchy mapping: for each occurrence of `with`, a new element is
/// created on the side `split` names (§Hierarchy mappings).
public struct Hierarchy: Sendable {
    public struct Split: Sendable {
        public let create: String?
        public let path: String?
        public let unique: [String]
    }

    public let fhir: FHIRMappingPath?
    public let openEHR: OpenEHRMappingPath?
    public let splitFHIR: Split?
    public let splitOpenEHR: Split?
}

/// The data types a `with.type` names (§Data mappings); `NONE` maps nothing
/// itself, only its children.
public enum DataMappingType: String, Sendable, CaseIterable {
    case none = "NONE", quantity = "QUANTITY", dateTime = "DATETIME", codeableConcept = "CODEABLECONCEPT", coding = "CODING"
    case string = "STRING", dosage = "DOSAGE", id = "ID", identifier = "IDENTIFIER", proportion = "PROPORTION"
}

/// Which way a method maps (§Basics, Unidirectional).
public enum MappingDirection: Sendable, Equatable {
    case both, fhirToOpenEHR, openEHRToFHIR

    init?(text: String) {
        switch String(text.lowercased().filter { $0 != " " }) {
        case "fhir->openehr": self = .fhirToOpenEHR
        case "openehr->fhir": self = .openEHRToFHIR
        default: return nil
        }
    }
}

/// What an extension mapping's method does to the model mapping (§Extension methods).
public enum ExtensionAction: Sendable, Equatable {
    /// Added at the end of the model mapping's methods.
    case add
    /// Its children appended to the `followedBy` of the method at that dotted name path.
    case append(to: [String])
    /// Replaces the method of the same name; openFHIR's files also name a
    /// nested one by its dotted name path (`parent.child`).
    case overwrite(at: [String])
}

/// A condition's operator (§Conditions, operator).
public enum ConditionOperator: String, Sendable, CaseIterable {
    case oneOf = "one of", notOf = "not of", empty = "empty", notEmpty = "not empty", type = "type"

    /// The operator a file names; openFHIR's files also write `not in` for `not of`.
    init?(text: String) {
        self.init(rawValue: text == "not in" ? "not of" : text)
    }
}

/// A condition on the input (§Conditions): the elements at `targetRoot`
/// whose `targetAttribute` satisfies the operator.
public struct MappingCondition<Path: Sendable & Equatable>: Sendable {
    public let targetRoot: Path
    /// Paths below the target root; more than one with openFHIR's `targetAttributes`.
    public let targetAttributes: [String]
    /// The same, parsed (relative to each element at the root).
    public let attributePaths: [Path]
    public let `operator`: ConditionOperator
    public let criteria: [String]
    public let identifying: Bool
    public let line: Int?
}

public typealias FHIRCondition = MappingCondition<FHIRMappingPath>
public typealias OpenEHRCondition = MappingCondition<OpenEHRMappingPath>

/// Constant values set on either side (§Manual mappings), under conditions.
public struct ManualMapping: Sendable {
    public struct Assignment: Sendable, Equatable {
        public let path: String
        public let value: String

        public init(path: String, value: String) {
            self.path = path
            self.value = value
        }
    }

    public let name: String
    public let fhir: [Assignment]
    public let openEHR: [Assignment]
    public let fhirConditions: [FHIRCondition]
    public let openEHRConditions: [OpenEHRCondition]
    public let direction: MappingDirection
}

/// A FHIR reference mapped to the resource it names (§Reference).
public struct ReferenceMapping: Sendable {
    public let resourceType: String
    public let methods: [MappingMethod]
}

/// A method of a mapping: the FHIR and openEHR paths it maps against each
/// other, and what else it does (§Basics, Body; Concept mappings).
public struct MappingMethod: Sendable {
    public internal(set) var name: String
    public let line: Int?
    public let fhir: FHIRMappingPath?
    public let openEHR: OpenEHRMappingPath?
    /// `with.type`: the data mapping, where the paths do not say it.
    public let dataType: DataMappingType?
    /// `with.value`: a constant for the FHIR side.
    public let value: String?
    public let direction: MappingDirection
    public let extensionAction: ExtensionAction?
    public let fhirConditions: [FHIRCondition]
    public let openEHRConditions: [OpenEHRCondition]
    public let manual: [ManualMapping]
    public internal(set) var followedBy: [MappingMethod]
    public let reference: ReferenceMapping?
    /// `slotArchetype`: the model mapping (by name) that maps the slot's archetype.
    public let slotArchetype: String?
    /// `link`: the openEHR LINK made for a reference that has no node (§FHIR Reference).
    public let link: Link?
    /// `mappingCode`: a programmed mapping the engine provides by that name (§Concept mappings).
    public let programmed: String?
    /// `conceptmap`: the url of a ConceptMap that translates codes.
    public let conceptMap: String?
    /// openFHIR's inline `terminology`: codes (units) translated between the sides.
    public let codeTranslations: [CodeTranslation]

    public struct CodeTranslation: Sendable, Equatable {
        public let openEHR: String
        public let fhir: String
    }

    public struct Link: Sendable, Equatable {
        public let meaning: String
        public let type: String
    }
}
