import JSONCore

/// PARTY_PROXY (RM 1.1.0 common.generic): who a record is about or who did
/// something. Socle keeps the reference and, for PARTY_IDENTIFIED, the name.
public struct PartyProxy: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case `self` = "PARTY_SELF"
        case identified = "PARTY_IDENTIFIED"
        case related = "PARTY_RELATED"
    }

    public var kind: Kind
    public var externalRef: PartyReference?
    /// PARTY_IDENTIFIED and PARTY_RELATED only.
    public var name: String?

    public init(kind: Kind, externalRef: PartyReference? = nil, name: String? = nil) {
        self.kind = kind
        self.externalRef = externalRef
        self.name = name
    }

    /// A committer known by name only, as the authenticated user is.
    public static func identified(name: String, externalRef: PartyReference? = nil) -> PartyProxy {
        PartyProxy(kind: .identified, externalRef: externalRef, name: name)
    }

    public var json: JSON {
        var object = JSONObject([("_type", .string(kind.rawValue))])
        if let externalRef { object["external_ref"] = externalRef.json }
        if let name, kind != .self { object["name"] = .string(name) }
        return .object(object)
    }

    /// Reads a PARTY_PROXY where the declared type is `declared` (`PARTY_SELF`
    /// for EHR_STATUS.subject, the abstract `PARTY_PROXY` elsewhere).
    public static func read(_ value: JSON?, at path: String, declared: Kind?, with reader: inout RMReader) -> PartyProxy? {
        guard let object = reader.object(value, at: path) else { return nil }
        let allowed: Set<String> = declared.map { [$0.rawValue] } ?? RMTypeHierarchy.concreteTypes(of: "PARTY_PROXY")
        guard let typeName = reader.type(of: object, at: path, allowed: allowed, default: declared?.rawValue),
            let kind = Kind(rawValue: typeName)
        else { return nil }
        var externalRef: PartyReference?
        if let member = object["external_ref"], member != .null {
            externalRef = PartyReference.read(member, at: path + "/external_ref", with: &reader)
        }
        let name = kind == .self ? nil : reader.string(object, "name", at: path, required: false)
        return PartyProxy(kind: kind, externalRef: externalRef, name: name)
    }
}
