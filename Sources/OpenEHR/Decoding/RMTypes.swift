/// The concrete RM 1.1.0 class names, so that an unknown `_type` can be told
/// apart from a known one used in the wrong place.
public enum RMTypes {
    public static let itemStructures: Set<String> = ["ITEM_TREE", "ITEM_LIST", "ITEM_SINGLE", "ITEM_TABLE"]
    public static let objectIDs: Set<String> = [
        "HIER_OBJECT_ID", "OBJECT_VERSION_ID", "ARCHETYPE_ID", "TEMPLATE_ID", "GENERIC_ID", "TERMINOLOGY_ID",
    ]
    public static let partyProxies: Set<String> = ["PARTY_SELF", "PARTY_IDENTIFIED", "PARTY_RELATED"]

    public static let all: Set<String> = itemStructures.union(objectIDs).union(partyProxies).union([
        "EHR", "EHR_STATUS", "EHR_ACCESS", "COMPOSITION", "EVENT_CONTEXT", "SECTION", "OBSERVATION", "EVALUATION",
        "INSTRUCTION", "ACTIVITY", "ACTION", "ISM_TRANSITION", "INSTRUCTION_DETAILS", "ADMIN_ENTRY", "GENERIC_ENTRY",
        "HISTORY", "POINT_EVENT", "INTERVAL_EVENT", "CLUSTER", "ELEMENT", "FOLDER", "CONTRIBUTION",
        "ORIGINAL_VERSION", "IMPORTED_VERSION", "AUDIT_DETAILS", "ATTESTATION", "PARTICIPATION", "FEEDER_AUDIT",
        "FEEDER_AUDIT_DETAILS", "LINK", "ARCHETYPED", "OBJECT_REF", "PARTY_REF", "LOCATABLE_REF", "CODE_PHRASE",
        "DV_TEXT", "DV_CODED_TEXT", "DV_QUANTITY", "DV_COUNT", "DV_PROPORTION", "DV_ORDINAL", "DV_SCALE", "DV_BOOLEAN",
        "DV_DATE_TIME", "DV_DATE", "DV_TIME", "DV_DURATION", "DV_IDENTIFIER", "DV_URI", "DV_EHR_URI", "DV_MULTIMEDIA",
        "DV_PARSABLE", "DV_STATE", "DV_INTERVAL", "DV_PERIODIC_TIME_SPECIFICATION", "DV_GENERAL_TIME_SPECIFICATION",
        "TERM_MAPPING", "UUID", "ISO_OID", "INTERNET_ID", "VERSION_TREE_ID",
    ])
}
