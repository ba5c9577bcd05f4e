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
    /// PARTY_IDENTIFIED.identifiers: the party's identifiers, such as a
    /// professional's national identifier, each a DV_IDENTIFIER.
    public var identifiers: [Identifier] = []

    /// DV_IDENTIFIER (RM 1.1.0 data_types.basic).
    public struct Identifier: Sendable, Equatable {
        public var issuer: String
        public var assigner: String
        public var id: String
        public var type: String

        public init(issuer: String, assigner: String, id: String, type: String) {
            self.issuer = issuer
            self.assigner = assigner
            self.id = id
            self.type = type
        }

        public var json: JSON {
            .object(JSONObject([
                ("_type", "DV_IDENTIFIER"), ("issuer", .string(issuer)), ("assigner", .string(assigner)), ("id", .string(id)), ("type", .string(type)),
            ]))
        }
    }

    public init(kind: Kind, externalRef: PartyReference? = nil, name: String? = nil, identifiers: [Identifier] = []) {
        self.kind = kind
        self.externalRef = externalRef
        self.name = name
        self.identifiers = identifiers
    }

    /// A committer known by name only, as the authenticated user is.
    public static func identified(name: String, externalRef: PartyReference? = nil, identifiers: [Identifier] = []) -> PartyProxy {
        PartyProxy(kind: .identified, externalRef: externalRef, name: name, identifiers: identifiers)
    }

    public var json: JSON {
        var object = JSONObject([("_type", .string(kind.rawValue))])
        if let externalRef { object["external_ref"] = externalRef.json }
        if let name, kind != .self { object["name"] = .string(name) }
        if kind == .identified, !identifiers.isEmpty { object["identifiers"] = .array(identifiers.map(\.json)) }
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
