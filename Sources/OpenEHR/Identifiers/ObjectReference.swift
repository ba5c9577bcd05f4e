import JSONCore

/// OBJECT_ID subtypes (BASE 1.1.0 §4.4): what an OBJECT_REF points at.
public struct ObjectID: Sendable, Equatable {
    /// The concrete RM type: `GENERIC_ID`, `HIER_OBJECT_ID`, …
    public var rmType: String
    public var value: String
    /// GENERIC_ID only.
    public var scheme: String?

    public init(rmType: String, value: String, scheme: String? = nil) {
        self.rmType = rmType
        self.value = value
        self.scheme = scheme
    }

    public var json: JSON {
        var object = JSONObject([("_type", .string(rmType)), ("value", .string(value))])
        if let scheme { object["scheme"] = .string(scheme) }
        return .object(object)
    }

    static func read(_ value: JSON?, at path: String, with reader: inout RMReader) -> ObjectID? {
        guard let object = reader.object(value, at: path) else { return nil }
        guard let type = reader.type(of: object, at: path, allowed: RMTypeHierarchy.concreteTypes(of: "OBJECT_ID"), default: nil) else { return nil }
        let value = reader.string(object, "value", at: path, nonEmpty: true)
        let scheme = reader.string(object, "scheme", at: path, required: type == "GENERIC_ID", nonEmpty: true)
        guard let value else { return nil }
        return ObjectID(rmType: type, value: value, scheme: type == "GENERIC_ID" ? scheme : nil)
    }
}

/// PARTY_REF / OBJECT_REF (BASE 1.1.0 §4.4.8): a reference into another
/// service, here the demographic one that knows the patient.
public struct PartyReference: Sendable, Equatable {
    public var id: ObjectID
    public var namespace: String
    public var type: String

    public init(id: ObjectID, namespace: String, type: String) {
        self.id = id
        self.namespace = namespace
        self.type = type
    }

    public var json: JSON {
        .object(JSONObject([("_type", "PARTY_REF"), ("id", id.json), ("namespace", .string(namespace)), ("type", .string(type))]))
    }

    static func read(_ value: JSON?, at path: String, with reader: inout RMReader) -> PartyReference? {
        guard let object = reader.object(value, at: path) else { return nil }
        _ = reader.type(of: object, at: path, allowed: ["PARTY_REF", "OBJECT_REF"], default: "PARTY_REF")
        let id = ObjectID.read(object["id"], at: path + "/id", with: &reader)
        let namespace = reader.string(object, "namespace", at: path, nonEmpty: true)
        let type = reader.string(object, "type", at: path, nonEmpty: true)
        if let namespace, !Self.isValidNamespace(namespace) {
            reader.report(path + "/namespace", "'\(namespace)' does not match the OBJECT_REF namespace pattern (a letter, then letters, digits or _.:/&?=+-)")
            return nil
        }
        guard let id, let namespace, let type else { return nil }
        return PartyReference(id: id, namespace: namespace, type: type)
    }

    /// OBJECT_REF invariant Namespace_valid.
    static func isValidNamespace(_ namespace: String) -> Bool {
        guard let first = namespace.unicodeScalars.first, first.properties.isAlphabetic else { return false }
        return namespace.unicodeScalars.allSatisfy { scalar in
            scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "_.:/&?=+-".unicodeScalars.contains(scalar)
        }
    }
}
