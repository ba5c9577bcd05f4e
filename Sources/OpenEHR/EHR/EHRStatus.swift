import JSONCore

/// EHR_STATUS (RM 1.1.0 ehr package §EHR_STATUS): who the EHR is about and
/// whether it may be queried and modified. LOCATABLE parts that Socle does
/// not interpret yet (name, archetype_details, feeder_audit, other_details)
/// are checked for shape and kept as sent.
public struct EHRStatus: Sendable, Equatable {
    public var uid: ObjectVersionID?
    public var archetypeNodeID: String
    public var name: JSON
    public var archetypeDetails: JSON?
    public var feederAudit: JSON?
    public var subject: PartyProxy
    public var isQueryable: Bool
    public var isModifiable: Bool
    public var otherDetails: JSON?

    public static let defaultArchetypeNodeID = "openEHR-EHR-EHR_STATUS.generic.v1"

    public init(
        subject: PartyProxy = PartyProxy(kind: .self), isQueryable: Bool = true, isModifiable: Bool = true,
        archetypeNodeID: String = EHRStatus.defaultArchetypeNodeID, name: JSON = ["_type": "DV_TEXT", "value": "EHR Status"],
        otherDetails: JSON? = nil
    ) {
        self.archetypeNodeID = archetypeNodeID
        self.name = name
        self.subject = subject
        self.isQueryable = isQueryable
        self.isModifiable = isModifiable
        self.otherDetails = otherDetails
    }

    static let attributes: Set<String> = [
        "_type", "uid", "archetype_node_id", "name", "archetype_details", "feeder_audit", "links", "subject",
        "is_queryable", "is_modifiable", "other_details",
    ]

    /// Decodes canonical JSON. The root `_type` may be left out, since every
    /// endpoint that takes an EHR_STATUS declares it (the ITS-JSON rule asks
    /// for `_type` only where the declared type is abstract).
    public init(json: JSON) throws(RMDecodingError) {
        var reader = RMReader()
        guard let object = reader.object(json, at: "") else {
            throw RMDecodingError(rmType: "EHR_STATUS", problems: [DecodingProblem(path: "/", message: "an EHR_STATUS must be a JSON object, found \(json.kindName)")])
        }
        _ = reader.type(of: object, at: "", allowed: ["EHR_STATUS"], default: "EHR_STATUS")
        for key in object.keys where !Self.attributes.contains(key) {
            reader.report("/" + key, "is not an attribute of EHR_STATUS")
        }
        let archetypeNodeID = reader.string(object, "archetype_node_id", at: "", nonEmpty: true)
        let name = Self.readText(object["name"], at: "/name", with: &reader)
        var uid: ObjectVersionID?
        if let uidObject = reader.object(object["uid"], at: "/uid", required: false),
            let value = reader.string(uidObject, "value", at: "/uid")
        {
            uid = ObjectVersionID(value)
            if uid == nil { reader.report("/uid/value", "'\(value)' is not an OBJECT_VERSION_ID (uuid::system_id::version)") }
        }
        let archetypeDetails = reader.object(object["archetype_details"], at: "/archetype_details", required: false)
        let feederAudit = reader.object(object["feeder_audit"], at: "/feeder_audit", required: false)
        let subject = PartyProxy.read(object["subject"], at: "/subject", declared: .self, with: &reader)
        let isQueryable = reader.bool(object, "is_queryable", at: "")
        let isModifiable = reader.bool(object, "is_modifiable", at: "")
        var otherDetails: JSON?
        if let details = object["other_details"], details != .null {
            // ITEM_STRUCTURE: checked in full against the RM schema.
            otherDetails = CanonicalDecoder().decodeObject(
                details, at: LazyPath().appending("other_details", .none), allowed: RMTypeHierarchy.concreteTypes(of: "ITEM_STRUCTURE").sorted(), typeRequired: true, reader: &reader)
        }
        try reader.finish("EHR_STATUS")
        guard let archetypeNodeID, let name, let subject, let isQueryable, let isModifiable else {
            throw RMDecodingError(rmType: "EHR_STATUS", problems: reader.problems)
        }
        self.uid = uid
        self.archetypeNodeID = archetypeNodeID
        self.name = name
        self.archetypeDetails = archetypeDetails.map(JSON.object)
        self.feederAudit = feederAudit.map(JSON.object)
        self.subject = subject
        self.isQueryable = isQueryable
        self.isModifiable = isModifiable
        self.otherDetails = otherDetails
    }

    /// LOCATABLE.name: a DV_TEXT or DV_CODED_TEXT with a non-empty value.
    static func readText(_ value: JSON?, at path: String, with reader: inout RMReader) -> JSON? {
        guard let object = reader.object(value, at: path) else { return nil }
        _ = reader.type(of: object, at: path, allowed: ["DV_TEXT", "DV_CODED_TEXT"], default: "DV_TEXT")
        guard reader.string(object, "value", at: path, nonEmpty: true) != nil else { return nil }
        return .object(object)
    }

    /// Canonical JSON, attributes in RM order.
    public var json: JSON {
        var object = JSONObject([("_type", "EHR_STATUS"), ("name", name)])
        if let archetypeDetails { object["archetype_details"] = archetypeDetails }
        object["archetype_node_id"] = .string(archetypeNodeID)
        if let feederAudit { object["feeder_audit"] = feederAudit }
        if let uid { object["uid"] = ["_type": "OBJECT_VERSION_ID", "value": .string(uid.description)] }
        object["subject"] = subject.json
        object["is_queryable"] = .bool(isQueryable)
        object["is_modifiable"] = .bool(isModifiable)
        if let otherDetails { object["other_details"] = otherDetails }
        return .object(object)
    }
}
