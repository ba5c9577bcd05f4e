/// One invariant of an RM 1.1.0 class definition (its "Invariants" section),
/// by the class that declares it and its name there (`DV_PROPORTION.Valid_denominator`).
public struct RMInvariant: Sendable, Hashable, CustomStringConvertible {
    public let rmClass: String
    public let name: String

    public init(_ rmClass: String, _ name: String) {
        self.rmClass = rmClass
        self.name = name
    }

    /// `DV_PROPORTION.Valid_denominator`.
    public var description: String { rmClass + "." + name }
}

/// Where Socle enforces an invariant, or why it does not.
public enum InvariantEnforcement: Sendable, Equatable {
    /// Checked by `CanonicalDecoder` on every object it reads: refused with
    /// 400 and the path of the object.
    case decoding
    /// Checked where the data arrives other than through the decoder (the
    /// services' commit audit and version lifecycle).
    case services(String)
    /// Holds by construction, or concerns a value Socle computes rather than reads.
    case byConstruction(String)
    /// Not enforced, for the reason given.
    case notEnforced(String)
}

extension RMInvariant {
    /// Every invariant of the RM 1.1.0 classes a composition, an EHR_STATUS
    /// or a directory holds (and the identifiers and references inside
    /// them), class by class, with where Socle enforces it. docs/architecture.md
    /// §RM invariants lists this table; RMInvariantTests tests each enforced one.
    public static let catalog: [(invariant: RMInvariant, enforcement: InvariantEnforcement)] =
        baseCatalog + dataValueCatalog + structureCatalog + compositionCatalog

    static let baseCatalog: [(invariant: RMInvariant, enforcement: InvariantEnforcement)] = [
        (RMInvariant("OBJECT_ID", "Value_exists"), .decoding),
        (RMInvariant("OBJECT_REF", "Namespace_exists"), .decoding),
        (RMInvariant("OBJECT_REF", "Type_exists"), .decoding),
        (RMInvariant("PARTY_REF", "Type_validity"), .decoding),
        (RMInvariant("ARCHETYPE_ID", "Value_valid"), .notEnforced("archetype ids are checked against the template instead: every archetype node id must be one the template has")),
        (RMInvariant("HIER_OBJECT_ID", "Value_valid"), .notEnforced("object ids a client sends are kept as sent; the ids Socle assigns are UUIDs")),
        (RMInvariant("LOCATABLE", "Archetype_node_id_valid"), .decoding),
        (RMInvariant("LOCATABLE", "Links_valid"), .decoding),
        (RMInvariant("LOCATABLE", "Archetyped_valid"), .notEnforced("producers leave archetype_details out of archetype roots below the top one; the template says which archetype each node comes from")),
        (RMInvariant("ARCHETYPED", "Rm_version_valid"), .decoding),
        (RMInvariant("FEEDER_AUDIT_DETAILS", "System_id_valid"), .decoding),
        (RMInvariant("PARTY_IDENTIFIED", "Basic_validity"), .decoding),
        (RMInvariant("PARTY_IDENTIFIED", "Name_valid"), .decoding),
        (RMInvariant("PARTY_IDENTIFIED", "Identifiers_valid"), .decoding),
        (RMInvariant("PARTY_RELATED", "Relationship_valid"), .decoding),
        (RMInvariant("PARTICIPATION", "Function_valid"), .decoding),
        (RMInvariant("PARTICIPATION", "Mode_valid"), .decoding),
        (RMInvariant("AUDIT_DETAILS", "Change_type_valid"), .services("a commit's change type comes from the audit headers or a contribution's commit_audit, refused unless in the 'audit change type' group")),
        (RMInvariant("AUDIT_DETAILS", "System_id_valid"), .byConstruction("the server records its own system id")),
        (RMInvariant("ORIGINAL_VERSION", "Lifecycle_state_valid"), .services("the lifecycle state comes from openehr-version or a contribution, refused unless in the 'version lifecycle state' group")),
        (RMInvariant("FOLDER", "Folders_valid"), .decoding),
    ]
}

extension RMInvariant {
    /// The invariant an empty list breaks where the RM says "absent or not
    /// empty" (`links /= Void implies not links.is_empty`): JSON `[]` is a
    /// present, empty list. ITS-REST asks for such lists to be left out.
    static func nonEmptyList(owner: String, attribute: String) -> RMInvariant? {
        switch (attribute, owner) {
        case ("links", _): return RMInvariant("LOCATABLE", "Links_valid")
        case ("mappings", _): return RMInvariant("DV_TEXT", "Mappings_valid")
        case ("other_reference_ranges", _): return RMInvariant("DV_ORDERED", "Other_reference_ranges_validity")
        case ("items", "SECTION"): return RMInvariant("SECTION", "Items_valid")
        case ("items", "DV_PARAGRAPH"): return RMInvariant("DV_PARAGRAPH", "Items_valid")
        case ("items", "CLUSTER"): return RMInvariant("CLUSTER", "Items_valid")
        case ("content", "COMPOSITION"): return RMInvariant("COMPOSITION", "Content_valid")
        case ("participations", "EVENT_CONTEXT"): return RMInvariant("EVENT_CONTEXT", "Participations_validity")
        case ("other_participations", _): return RMInvariant("ENTRY", "Other_participations_valid")
        case ("activities", "INSTRUCTION"): return RMInvariant("INSTRUCTION", "Activities_valid")
        case ("identifiers", _): return RMInvariant("PARTY_IDENTIFIED", "Identifiers_valid")
        case ("folders", "FOLDER"): return RMInvariant("FOLDER", "Folders_valid")
        default: return nil
        }
    }
}
