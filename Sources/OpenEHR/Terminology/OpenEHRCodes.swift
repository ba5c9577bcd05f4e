import JSONCore

/// openEHR terminology group "audit change type" (openehr_terminology.xml, TERM 3.1.0).
public enum AuditChangeType: String, Sendable, CaseIterable {
    case creation = "249"
    case amendment = "250"
    case modification = "251"
    case synthesis = "252"
    case deleted = "523"
    case attestation = "666"
    case restoration = "816"
    case formatConversion = "817"
    case unknown = "253"

    public var rubric: String {
        switch self {
        case .creation: "creation"
        case .amendment: "amendment"
        case .modification: "modification"
        case .synthesis: "synthesis"
        case .deleted: "deleted"
        case .attestation: "attestation"
        case .restoration: "restoration"
        case .formatConversion: "format conversion"
        case .unknown: "unknown"
        }
    }

    public var json: JSON { codedText(value: rubric, code: rawValue) }
}

/// openEHR terminology group "version lifecycle state".
public enum VersionLifecycleState: String, Sendable, CaseIterable {
    case complete = "532"
    case incomplete = "553"
    case deleted = "523"
    case inactive = "800"
    case abandoned = "801"

    public var rubric: String {
        switch self {
        case .complete: "complete"
        case .incomplete: "incomplete"
        case .deleted: "deleted"
        case .inactive: "inactive"
        case .abandoned: "abandoned"
        }
    }

    public var json: JSON { codedText(value: rubric, code: rawValue) }
}

/// A DV_CODED_TEXT from the openEHR terminology.
func codedText(value: String, code: String) -> JSON {
    [
        "_type": "DV_CODED_TEXT",
        "value": .string(value),
        "defining_code": [
            "_type": "CODE_PHRASE",
            "terminology_id": ["_type": "TERMINOLOGY_ID", "value": "openehr"],
            "code_string": .string(code),
        ],
    ]
}
