/// Which concrete RM types stand where a template names a type: a
/// constraint on an abstract type (EVENT, ITEM_STRUCTURE, DATA_VALUE …)
/// or on a concrete type with subtypes (DV_TEXT takes DV_CODED_TEXT).
public enum RMTypeHierarchy {
    public static let dataValues: Set<String> = [
        "DV_BOOLEAN", "DV_STATE", "DV_IDENTIFIER", "DV_TEXT", "DV_CODED_TEXT", "DV_PARAGRAPH", "DV_QUANTITY", "DV_COUNT", "DV_PROPORTION",
        "DV_ORDINAL", "DV_SCALE", "DV_DATE_TIME", "DV_DATE", "DV_TIME", "DV_DURATION", "DV_INTERVAL", "DV_MULTIMEDIA", "DV_PARSABLE", "DV_URI",
        "DV_EHR_URI", "DV_PERIODIC_TIME_SPECIFICATION", "DV_GENERAL_TIME_SPECIFICATION",
    ]
    public static let entries: Set<String> = ["OBSERVATION", "EVALUATION", "INSTRUCTION", "ACTION", "ADMIN_ENTRY", "GENERIC_ENTRY"]

    public static let subtypes: [String: Set<String>] = [
        "DV_TEXT": ["DV_CODED_TEXT"],
        "DV_URI": ["DV_EHR_URI"],
        "PARTY_IDENTIFIED": ["PARTY_RELATED"],
        "OBJECT_REF": ["PARTY_REF", "LOCATABLE_REF", "ACCESS_GROUP_REF"],
        "EVENT": ["POINT_EVENT", "INTERVAL_EVENT"],
        "ITEM_STRUCTURE": ["ITEM_TREE", "ITEM_LIST", "ITEM_SINGLE", "ITEM_TABLE"],
        "ITEM": ["CLUSTER", "ELEMENT"],
        "CONTENT_ITEM": entries.union(["SECTION"]),
        "ENTRY": entries,
        "CARE_ENTRY": ["OBSERVATION", "EVALUATION", "INSTRUCTION", "ACTION"],
        "PARTY_PROXY": ["PARTY_SELF", "PARTY_IDENTIFIED", "PARTY_RELATED"],
        "DATA_VALUE": dataValues,
        "DV_ORDERED": ["DV_QUANTITY", "DV_COUNT", "DV_PROPORTION", "DV_ORDINAL", "DV_SCALE", "DV_DATE_TIME", "DV_DATE", "DV_TIME", "DV_DURATION"],
        "DV_QUANTIFIED": ["DV_QUANTITY", "DV_COUNT", "DV_PROPORTION", "DV_DURATION"],
        "DV_AMOUNT": ["DV_QUANTITY", "DV_COUNT", "DV_PROPORTION", "DV_DURATION"],
        "DV_ABSOLUTE_QUANTITY": ["DV_DATE_TIME", "DV_DATE", "DV_TIME"],
        "DV_TEMPORAL": ["DV_DATE_TIME", "DV_DATE", "DV_TIME"],
        "DV_ENCAPSULATED": ["DV_MULTIMEDIA", "DV_PARSABLE"],
        "DV_TIME_SPECIFICATION": ["DV_PERIODIC_TIME_SPECIFICATION", "DV_GENERAL_TIME_SPECIFICATION"],
        "OBJECT_ID": ["HIER_OBJECT_ID", "OBJECT_VERSION_ID", "ARCHETYPE_ID", "TEMPLATE_ID", "GENERIC_ID", "TERMINOLOGY_ID"],
        "UID_BASED_ID": ["HIER_OBJECT_ID", "OBJECT_VERSION_ID"],
    ]

    /// Whether a value of `actual` satisfies a constraint on `constrained`.
    public static func conforms(_ actual: String, to constrained: String) -> Bool {
        actual == constrained || subtypes[constrained]?.contains(actual) == true
    }

    /// The concrete types that a (possibly abstract) type stands for.
    public static func concreteTypes(of type: String) -> Set<String> {
        var result: Set<String> = RMSchema.rm110[type] == nil ? [] : [type]
        result.formUnion(subtypes[type] ?? [])
        return result
    }
}
