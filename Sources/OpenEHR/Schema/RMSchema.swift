import JSONCore

/// The RM 1.1.0 class table, generated from the openEHR ITS-JSON schema
/// (`scripts/generate_rm_schema.py`): for each concrete class, its
/// attributes, the concrete types each accepts, which are mandatory and
/// which are lists. Canonical JSON is decoded against it.
public struct RMSchema: Sendable {
    public enum Primitive: String, Sendable {
        case string, number, integer, boolean
        /// Any RM object, typed by its `_type` (DV_INTERVAL.lower and upper).
        case object
    }

    public struct Attribute: Sendable {
        public var isList: Bool
        public var minimumItems: Int
        /// Concrete RM types the attribute accepts (empty for primitives).
        public var types: [String]
        /// Whether `_type` must be sent (several types are possible and none is the default).
        public var typeRequired: Bool
        public var primitive: Primitive?

        public init(isList: Bool, minimumItems: Int, types: [String], typeRequired: Bool, primitive: Primitive?) {
            self.isList = isList
            self.minimumItems = minimumItems
            self.types = types
            self.typeRequired = typeRequired
            self.primitive = primitive
        }
    }

    public struct RMClass: Sendable {
        public var name: String
        public var required: Set<String>
        /// The mandatory attributes in a stable order, for messages.
        public var requiredInOrder: [String]
        public var attributes: [String: Attribute]
    }

    public let classes: [String: RMClass]

    /// RM 1.1.0.
    public static let rm110 = RMSchema(source: RMSchema.source)

    /// Declared types that are concrete and have subtypes: where one of these
    /// is among the accepted types, a value without `_type` is of this type
    /// (a `name` without `_type` is a DV_TEXT).
    static let concreteSupertypes: Set<String> = ["DV_TEXT", "OBJECT_REF", "PARTY_IDENTIFIED", "DV_URI"]

    /// Attributes the RM 1.1.0 class definitions make mandatory that the
    /// ITS-JSON schema leaves optional: DV_URI.value is `String [1]`.
    static let alsoRequired: [String: Set<String>] = ["DV_URI": ["value"], "DV_EHR_URI": ["value"]]

    init(source: String) {
        guard case .object(let table) = try? JSONParser.parse(source) else {
            preconditionFailure("the generated RM schema is not valid JSON")
        }
        var classes: [String: RMClass] = [:]
        for (name, definition) in table.members {
            var attributes: [String: Attribute] = [:]
            for (attribute, spec) in definition["attributes"]?.objectValue?.members ?? [] {
                attributes[attribute] = Attribute(
                    isList: spec["list"]?.boolValue ?? false,
                    minimumItems: spec["minItems"].flatMap { if case .number(let n) = $0 { Int(n) } else { nil } } ?? 0,
                    types: spec["types"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                    typeRequired: spec["typeRequired"]?.boolValue ?? false,
                    primitive: spec["primitive"]?.stringValue.flatMap(Primitive.init(rawValue:)))
            }
            let required = Set(definition["required"]?.arrayValue?.compactMap(\.stringValue) ?? []).union(Self.alsoRequired[name] ?? [])
            classes[name] = RMClass(name: name, required: required, requiredInOrder: required.sorted(), attributes: attributes)
        }
        self.classes = classes
    }

    public subscript(name: String) -> RMClass? { classes[name] }

    /// The type of a value sent without `_type`, where it can be known.
    func defaultType(among types: [String]) -> String? {
        if types.count == 1 { return types[0] }
        let concrete = types.filter { Self.concreteSupertypes.contains($0) }
        return concrete.count == 1 ? concrete[0] : nil
    }
}
