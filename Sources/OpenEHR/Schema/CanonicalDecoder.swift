import JSONCore

/// Decodes canonical JSON (ITS-JSON) into a checked RM tree: every object's
/// type is known and allowed where it stands, every mandatory attribute is
/// there, no attribute is foreign to its class, and every primitive has the
/// right JSON kind. The result is the same JSON with `_type` made explicit
/// first in every object, so that later stages (validation, indexing,
/// storage) read types without guessing. Every problem is reported with an
/// archetype-style path (`/content[openEHR-EHR-OBSERVATION.x.v1]/data[at0001]`).
public struct CanonicalDecoder: Sendable {
    public let schema: RMSchema

    public init(schema: RMSchema = .rm110) {
        self.schema = schema
    }

    public func decode(_ json: JSON, as rmType: String) throws(RMDecodingError) -> JSON {
        var reader = RMReader()
        let result = decodeObject(json, at: LazyPath(), allowed: [rmType], typeRequired: false, reader: &reader)
        try reader.finish(rmType)
        guard let result else { throw RMDecodingError(rmType: rmType, problems: reader.problems) }
        return result
    }

    func decodeObject(_ value: JSON, at path: LazyPath, allowed: [String], typeRequired: Bool, reader: inout RMReader) -> JSON? {
        guard case .object(let object) = value else {
            reader.report(path.rendered, "must be an object, found \(value.kindName)")
            return nil
        }
        let type: String
        let rmClass: RMSchema.RMClass
        if let sent = object["_type"] {
            guard case .string(let name) = sent else {
                reader.report(path + "/_type", "must be a string, found \(sent.kindName)")
                return nil
            }
            guard let found = schema[name] else {
                reader.report(path + "/_type", "unknown RM type '\(name)'")
                return nil
            }
            guard allowed.isEmpty || allowed.contains(name) else {
                reader.report(path + "/_type", "\(name) is not allowed here, expected \(allowed.joined(separator: ", "))")
                return nil
            }
            (type, rmClass) = (name, found)
        } else if let inferred = schema.defaultType(among: allowed), let found = schema[inferred] {
            (type, rmClass) = (inferred, found)
        } else {
            reader.report(
                path + "/_type",
                allowed.isEmpty ? "is mandatory: the type cannot be inferred here" : "is mandatory here, expected one of \(allowed.joined(separator: ", "))")
            return nil
        }
        var members: [(key: String, value: JSON)] = [("_type", .string(type))]
        members.reserveCapacity(object.count + 1)
        for (key, member) in object.members where key != "_type" {
            guard let attribute = rmClass.attributes[key] else {
                reader.report(path + "/" + key, "is not an attribute of \(type)")
                continue
            }
            if member == .null {
                if rmClass.required.contains(key) { reader.report(path + "/" + key, "is mandatory in \(type) but null") }
                continue
            }
            if let decoded = decodeAttribute(member, attribute, named: key, of: type, at: path, reader: &reader) {
                members.append((key, decoded))
            }
        }
        var output = JSONObject(members: members)
        if type == "DV_INTERVAL" { Self.completeIntervalFlags(&output) }
        InvariantCheck.run(type, output, at: path, reader: &reader)
        // What was decoded is in the output (a few members: looked up in the list).
        for key in rmClass.requiredInOrder where output[key] == nil {
            switch object[key] {
            case nil, .null?: reader.report(path + "/" + key, "is mandatory in \(type) but missing")
            case .array([])?: reader.report(path + "/" + key, "is mandatory in \(type) but empty")
            default: break  // present but invalid: already reported
            }
        }
        return .object(output)
    }

    func decodeAttribute(_ value: JSON, _ attribute: RMSchema.Attribute, named key: String, of owner: String, at path: LazyPath, reader: inout RMReader)
        -> JSON?
    {
        guard attribute.isList else { return decodeValue(value, attribute, under: path, key, index: nil, reader: &reader) }
        guard case .array(let elements) = value else {
            reader.report(path + "/" + key, "must be an array, found \(value.kindName)")
            return nil
        }
        if elements.isEmpty, let invariant = RMInvariant.nonEmptyList(owner: owner, attribute: key) {
            // RM: the list is absent or not empty; `[]` is present and empty.
            reader.report(path + "/" + key, "must be left out rather than empty (RM invariant \(invariant))")
            return nil
        }
        if elements.isEmpty && attribute.minimumItems > 0 {
            // Another optional list that is absent or non-empty: `[]` is read as absent.
            return nil
        }
        if elements.count < attribute.minimumItems {
            reader.report(path + "/" + key, "must have at least \(attribute.minimumItems) item(s) when present")
        }
        var decoded: [JSON] = []
        decoded.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            if let item = decodeValue(element, attribute, under: path, key, index: index, reader: &reader) {
                decoded.append(item)
            }
        }
        return .array(decoded)
    }

    /// The value of attribute `key` (item `index` of it when a list) of the
    /// object at `path`. Its own path is made only for an object, which
    /// passes it on, or for a primitive that is reported.
    func decodeValue(_ value: JSON, _ attribute: RMSchema.Attribute, under path: LazyPath, _ key: String, index: Int?, reader: inout RMReader) -> JSON? {
        func here() -> LazyPath { segment(path, key, value, index: index) }
        switch attribute.primitive {
        case .string?:
            guard case .string = value else { return mismatch(value, "a string", at: here(), reader: &reader) }
            return value
        case .boolean?:
            guard case .bool = value else { return mismatch(value, "a boolean", at: here(), reader: &reader) }
            return value
        case .number?:
            guard case .number = value else { return mismatch(value, "a number", at: here(), reader: &reader) }
            return value
        case .integer?:
            guard case .number(let text) = value, !text.utf8.contains(where: { $0 == UInt8(ascii: ".") || $0 | 0x20 == UInt8(ascii: "e") }) else {
                return mismatch(value, "an integer", at: here(), reader: &reader)
            }
            return value
        case .object?:
            return decodeObject(value, at: here(), allowed: [], typeRequired: true, reader: &reader)
        case nil:
            return decodeObject(value, at: here(), allowed: attribute.types, typeRequired: attribute.typeRequired, reader: &reader)
        }
    }

    /// DV_INTERVAL's four flags are mandatory in the RM, but the openEHR SDK
    /// and other producers leave them out. A missing flag is completed the
    /// way those producers mean it: a bound that is absent is unbounded, one
    /// that is present is included. Flags that are sent are kept as sent.
    static func completeIntervalFlags(_ interval: inout JSONObject) {
        for side in ["lower", "upper"] {
            let present = interval[side] != nil
            if interval[side + "_unbounded"] == nil { interval[side + "_unbounded"] = .bool(!present) }
            if interval[side + "_included"] == nil { interval[side + "_included"] = .bool(present) }
        }
    }

    func mismatch(_ value: JSON, _ expected: String, at path: LazyPath, reader: inout RMReader) -> JSON? {
        reader.report(path.rendered, "must be \(expected), found \(value.kindName)")
        return nil
    }

    /// `/items[at0004]` for a LOCATABLE, `/items[2]` for another list item.
    func segment(_ path: LazyPath, _ key: String, _ value: JSON, index: Int?) -> LazyPath {
        if case .string(let node)? = value["archetype_node_id"] { return path.appending(key, .node(node)) }
        if let index { return path.appending(key, .index(index)) }
        return path.appending(key, .none)
    }
}

/// A path rendered only when a problem is reported: decoding a large
/// composition builds one small node per object (its attribute and what
/// tells it among its siblings) instead of a path string.
struct LazyPath {
    enum Qualifier {
        case none
        case node(String)
        case index(Int)
    }

    final class Node: @unchecked Sendable {
        let parent: Node?
        let key: String
        let qualifier: Qualifier
        init(parent: Node?, key: String, qualifier: Qualifier) {
            self.parent = parent
            self.key = key
            self.qualifier = qualifier
        }

        /// `/items[at0004]`, `/items[2]` or `/items`.
        var segment: String {
            switch qualifier {
            case .none: "/" + key
            case .node(let node): "/" + key + "[" + node + "]"
            case .index(let index): "/" + key + "[\(index)]"
            }
        }
    }

    let node: Node?

    init(node: Node? = nil) { self.node = node }

    func appending(_ key: String, _ qualifier: Qualifier) -> LazyPath { LazyPath(node: Node(parent: node, key: key, qualifier: qualifier)) }

    /// `/content[openEHR-EHR-OBSERVATION.x.v1]/data[at0001]`, or `/` at the root.
    var rendered: String {
        var segments: [String] = []
        var current = node
        while let each = current {
            segments.append(each.segment)
            current = each.parent
        }
        return segments.isEmpty ? "/" : segments.reversed().joined()
    }

    static func + (path: LazyPath, suffix: String) -> String {
        path.node == nil ? suffix : path.rendered + suffix
    }
}
