import JSONCore

/// AUDIT_DETAILS (RM 1.1.0 common.generic): who committed a change, when,
/// on which system, what kind of change and why.
public struct AuditDetails: Sendable, Equatable {
    public var systemID: String
    public var committer: PartyProxy
    public var timeCommitted: ISODateTime
    public var changeType: AuditChangeType
    public var description: String?

    public init(systemID: String, committer: PartyProxy, timeCommitted: ISODateTime, changeType: AuditChangeType, description: String? = nil) {
        self.systemID = systemID
        self.committer = committer
        self.timeCommitted = timeCommitted
        self.changeType = changeType
        self.description = description
    }

    public var json: JSON {
        var object = JSONObject([
            ("_type", "AUDIT_DETAILS"),
            ("system_id", .string(systemID)),
            ("time_committed", ["_type": "DV_DATE_TIME", "value": .string(timeCommitted.description)]),
            ("change_type", changeType.json),
        ])
        if let description { object["description"] = ["_type": "DV_TEXT", "value": .string(description)] }
        object["committer"] = committer.json
        return .object(object)
    }
}
