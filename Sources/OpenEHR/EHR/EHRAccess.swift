import JSONCore

/// EHR_ACCESS (RM 1.1.0 ehr package §EHR_ACCESS): the access control
/// settings of an EHR, one versioned object per EHR created with it
/// (§EHR creation semantics). Socle decides access at its HTTP layer, not
/// from ACCESS_CONTROL_SETTINGS (an abstract class the RM leaves to each
/// system), so its EHR_ACCESS carries no `settings`: the object exists so
/// that `EHR.ehr_access` refers to a real version, as the RM requires.
public struct EHRAccess: Sendable, Equatable {
    public var uid: ObjectVersionID

    public static let archetypeNodeID = "openEHR-EHR-EHR_ACCESS.generic.v1"

    public init(uid: ObjectVersionID) {
        self.uid = uid
    }

    /// Canonical JSON, attributes in RM order.
    public var json: JSON {
        .object(
            JSONObject([
                ("_type", "EHR_ACCESS"), ("name", ["_type": "DV_TEXT", "value": "EHR access"]),
                ("archetype_node_id", .string(Self.archetypeNodeID)),
                ("uid", ["_type": "OBJECT_VERSION_ID", "value": .string(uid.description)]),
            ]))
    }
}
