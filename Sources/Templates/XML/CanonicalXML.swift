import Foundation
import JSONCore
import OpenEHR

/// Canonical XML (openEHR ITS-XML, RM Release 1.0.4 schemas, namespace
/// `http://schemas.openehr.org/v1`) to and from canonical JSON.
///
/// Both directions are driven by the RM class table (`RMSchema`): it says
/// which attributes a class has, which are lists and which are primitives
/// of which kind. The XML schemas add two things JSON does not have: the
/// order of child elements (an `xs:sequence` per class, following the
/// inheritance chain, which is not the order of the BMM: a LOCATABLE is
/// name, uid, links, archetype_details, feeder_audit), and
/// `archetype_node_id` as an XML attribute. The type of an object is its
/// `xsi:type`; without one, the type the position declares (a `name` is a
/// DV_TEXT, an `external_ref` a PARTY_REF).
public enum CanonicalXML {
    public static let namespace = "http://schemas.openehr.org/v1"
    public static let schemaInstance = "http://www.w3.org/2001/XMLSchema-instance"

    /// The document element ITS-XML gives each root type.
    public static func rootElement(for rmType: String) -> String {
        switch rmType {
        case "ORIGINAL_VERSION", "IMPORTED_VERSION": "version"
        default: rmType.lowercased()
        }
    }

    // MARK: Writing

    /// The XML document of a canonical JSON RM object (its `_type` says
    /// its class; `rmType` is used when it has none).
    public static func document(_ json: JSON, rmType: String, schema: RMSchema = .rm110) -> String {
        String(decoding: documentBytes(json, rmType: rmType, schema: schema), as: UTF8.self)
    }

    /// The document as UTF-8 bytes.
    public static func documentBytes(_ json: JSON, rmType: String, schema: RMSchema = .rm110) -> [UInt8] {
        var writer = Writer(schema: schema)
        writer.output.reserveCapacity(4096)
        writer.append(#"<?xml version="1.0" encoding="UTF-8"?>"# + "\n")
        let type = json["_type"]?.stringValue ?? rmType
        writer.writeObject(json, element: rootElement(for: type), declared: [], depth: 0, root: true, fallbackType: type)
        return writer.output
    }

    struct Writer {
        let schema: RMSchema
        var output: [UInt8] = []

        mutating func append(_ text: String) {
            output.append(contentsOf: text.utf8)
        }

        mutating func indent(_ depth: Int) {
            for _ in 0..<depth { output.append(0x20); output.append(0x20) }
        }

        mutating func writeObject(_ json: JSON, element: String, declared: [String], depth: Int, root: Bool = false, fallbackType: String? = nil) {
            guard case .object(let object) = json else {
                writeValue(json, element: element, attribute: nil, depth: depth)
                return
            }
            let type = object["_type"]?.stringValue ?? fallbackType ?? schema.defaultTypeForXML(among: declared)
            indent(depth)
            output.append(UInt8(ascii: "<"))
            append(element)
            if root {
                append(" xmlns=\"\(CanonicalXML.namespace)\" xmlns:xsi=\"\(CanonicalXML.schemaInstance)\"")
            }
            // xsi:type wherever the position admits more than this one type.
            if let type, root || declared.count != 1 || declared[0] != type {
                append(" xsi:type=\"")
                appendEscaped(type, attribute: true)
                output.append(UInt8(ascii: "\""))
            }
            if let node = object["archetype_node_id"]?.stringValue {
                append(" archetype_node_id=\"")
                appendEscaped(node, attribute: true)
                output.append(UInt8(ascii: "\""))
            }
            let rmClass = type.flatMap { schema[$0] }
            let keys = CanonicalXML.orderedKeys(of: object, type: type, rmClass: rmClass)
            if keys.isEmpty {
                append("/>\n")
                return
            }
            append(">\n")
            for key in keys {
                guard let value = object[key], value != .null else { continue }
                let attribute = rmClass?.attributes[key]
                if case .array(let items) = value {
                    for item in items { writeMember(item, element: key, attribute: attribute, depth: depth + 1) }
                } else {
                    writeMember(value, element: key, attribute: attribute, depth: depth + 1)
                }
            }
            indent(depth)
            append("</")
            append(element)
            append(">\n")
        }

        mutating func writeMember(_ value: JSON, element: String, attribute: RMSchema.Attribute?, depth: Int) {
            if case .object = value {
                writeObject(value, element: element, declared: attribute?.types ?? [], depth: depth)
            } else {
                writeValue(value, element: element, attribute: attribute, depth: depth)
            }
        }

        mutating func writeValue(_ value: JSON, element: String, attribute: RMSchema.Attribute?, depth: Int) {
            switch value {
            case .null, .array, .object: return
            default: break
            }
            indent(depth)
            output.append(UInt8(ascii: "<"))
            append(element)
            output.append(UInt8(ascii: ">"))
            switch value {
            case .string(let string): appendEscaped(string, attribute: false)
            case .number(let number): append(number)
            case .bool(let bool): append(bool ? "true" : "false")
            case .null, .array, .object: break
            }
            append("</")
            append(element)
            append(">\n")
        }

        /// Text with `&`, `<`, `>` (and in attributes `"` and line breaks) as references.
        mutating func appendEscaped(_ text: String, attribute: Bool) {
            for byte in text.utf8 {
                switch byte {
                case UInt8(ascii: "&"): append("&amp;")
                case UInt8(ascii: "<"): append("&lt;")
                case UInt8(ascii: ">"): append("&gt;")
                case UInt8(ascii: "\"") where attribute: append("&quot;")
                case 0x0D: append("&#13;")
                case 0x0A where attribute: append("&#10;")
                case 0x09 where attribute: append("&#9;")
                default: output.append(byte)
                }
            }
        }
    }

    /// The members of an object in ITS-XML element order: the class's
    /// sequence first, then any other attribute the RM 1.1.0 table knows
    /// that the 1.0.4 schemas predate, in the order sent.
    static func orderedKeys(of object: JSONObject, type: String?, rmClass: RMSchema.RMClass?) -> [String] {
        let skipped: Set<String> = ["_type", "archetype_node_id"]
        let order = type.flatMap { elementOrder[$0] } ?? []
        var keys: [String] = []
        var seen = Set<String>()
        for key in order where object[key] != nil && object[key] != .null {
            keys.append(key)
            seen.insert(key)
        }
        for (key, value) in object.members where !skipped.contains(key) && !seen.contains(key) && value != .null {
            keys.append(key)
        }
        return keys
    }

    // MARK: Reading

    /// Canonical JSON of an RM object read from XML. The document element
    /// may carry `xsi:type`; otherwise it is `rmType`. Every element the
    /// class does not have, every value of the wrong kind and every missing
    /// type is reported with its XPath and line.
    public static func read(_ data: Data, as rmType: String, schema: RMSchema = .rm110) throws(RMDecodingError) -> JSON {
        let root: XMLElement
        do {
            root = try XMLTree.parse(data)
        } catch {
            throw RMDecodingError(rmType: rmType, problems: [DecodingProblem(path: "/", message: "not well-formed XML: \(error)")])
        }
        return try read(root, as: rmType, schema: schema)
    }

    public static func read(_ root: XMLElement, as rmType: String, schema: RMSchema = .rm110) throws(RMDecodingError) -> JSON {
        try read(root, as: rmType, overrides: [:], schema: schema)
    }

    /// The body of a contribution sent to the REST API: a CONTRIBUTION whose
    /// `versions` are whole ORIGINAL_VERSIONs (the RM CONTRIBUTION holds
    /// references to them).
    public static func readContributionBody(_ data: Data, schema: RMSchema = .rm110) throws(RMDecodingError) -> JSON {
        let root: XMLElement
        do {
            root = try XMLTree.parse(data)
        } catch {
            throw RMDecodingError(rmType: "CONTRIBUTION", problems: [DecodingProblem(path: "/", message: "not well-formed XML: \(error)")])
        }
        let versions = RMSchema.Attribute(isList: true, minimumItems: 1, types: ["ORIGINAL_VERSION"], typeRequired: false, primitive: nil)
        return try read(root, as: "CONTRIBUTION", overrides: ["versions": versions], schema: schema)
    }

    static func read(
        _ root: XMLElement, as rmType: String, overrides: [String: RMSchema.Attribute], schema: RMSchema
    ) throws(RMDecodingError) -> JSON {
        var reader = Reader(schema: schema)
        let type = root.xsiType.map { $0.split(separator: ":").last.map(String.init) ?? $0 } ?? rmType
        let result = reader.readObject(root, declared: [type], path: XPath(parent: nil, name: root.name, index: nil), overrides: overrides)
        if !reader.problems.isEmpty || result == nil {
            throw RMDecodingError(rmType: rmType, problems: reader.problems)
        }
        return result!
    }

    struct Reader {
        /// Elements some serialisers (the Java reference implementation)
        /// add to identifiers: functions of `value`, not attributes. They
        /// are read as the redundant parts they are and dropped.
        static let derivedElements: [String: Set<String>] = [
            "ARCHETYPE_ID": ["qualifiedRmEntity", "domainConcept", "rmOriginator", "rmName", "rmEntity", "specialisation", "versionId"]
        ]

        static let knownAttributes: Set<String> = ["archetype_node_id", "type", "schemaLocation", "noNamespaceSchemaLocation", "nil"]

        let schema: RMSchema
        var problems: [DecodingProblem] = []

        mutating func report(_ path: XPath, _ element: XMLElement, _ message: String) {
            problems.append(DecodingProblem(path: path.rendered, message: "line \(element.line): \(message)"))
        }

        mutating func readObject(
            _ element: XMLElement, declared: [String], path: XPath, overrides: [String: RMSchema.Attribute] = [:]
        ) -> JSON? {
            let type: String
            if let sent = element.xsiType {
                // The local name of a prefixed type (`xsi:type="v1:DV_TEXT"`).
                let name = sent.utf8.lastIndex(of: UInt8(ascii: ":")).map { String(sent[sent.utf8.index(after: $0)...]) } ?? sent
                guard schema[name] != nil else {
                    report(path, element, "xsi:type '\(sent)' is not an RM type")
                    return nil
                }
                guard declared.isEmpty || declared.contains(name) else {
                    report(path, element, "xsi:type \(name) is not allowed here, expected \(declared.joined(separator: ", "))")
                    return nil
                }
                type = name
            } else if let inferred = schema.defaultTypeForXML(among: declared) {
                type = inferred
            } else {
                report(
                    path, element,
                    declared.isEmpty ? "xsi:type is mandatory here" : "xsi:type is mandatory here, expected one of \(declared.joined(separator: ", "))")
                return nil
            }
            guard let rmClass = schema[type] else { return nil }
            var members: [(String, JSON)] = [("_type", .string(type))]
            // XML attributes: archetype_node_id and the schema instance's (xsi:type, schemaLocation).
            if element.attributes.keys.contains(where: { !Self.knownAttributes.contains($0) }) {
                for name in element.attributes.keys.sorted() where !Self.knownAttributes.contains(name) {
                    report(path, element, "attribute '\(name)' is not one canonical XML has (archetype_node_id, xsi:type)")
                }
            }
            if let node = element.attributes["archetype_node_id"] {
                if rmClass.attributes["archetype_node_id"] != nil {
                    members.append(("archetype_node_id", .string(node)))
                } else {
                    report(path, element, "archetype_node_id is not an attribute of \(type)")
                }
            }
            if !element.children.isEmpty, !CanonicalXML.isBlank(element.text) {
                report(path, element, "text is not allowed beside the elements of \(type)")
            }
            // Children grouped by name, in the order they first appear (few names: a list is faster than a dictionary).
            var groups: [(name: String, elements: [XMLElement])] = []
            for child in element.children {
                if let index = groups.firstIndex(where: { $0.name == child.name }) {
                    groups[index].elements.append(child)
                } else {
                    groups.append((child.name, [child]))
                }
            }
            for (name, children) in groups {
                if Self.derivedElements[type]?.contains(name) == true { continue }
                guard let attribute = overrides[name] ?? rmClass.attributes[name], name != "archetype_node_id", name != "_type" else {
                    report(XPath(parent: path, name: name, index: nil), children[0], "<\(name)> is not an attribute of \(type)")
                    continue
                }
                if attribute.isList {
                    var items: [JSON] = []
                    for (index, child) in children.enumerated() {
                        if let value = readMember(child, attribute, parent: path, name: name, index: index + 1) { items.append(value) }
                    }
                    members.append((name, .array(items)))
                } else {
                    if children.count > 1 {
                        report(XPath(parent: path, name: name, index: nil), children[1], "<\(name)> is single-valued in \(type) but appears \(children.count) times")
                    }
                    if let value = readMember(children[0], attribute, parent: path, name: name, index: nil) { members.append((name, value)) }
                }
            }
            // Members in the schema's order, whatever the document's.
            if let rank = CanonicalXML.elementRank[type], members.count > 2 {
                let head = members.prefix { $0.0 == "_type" || $0.0 == "archetype_node_id" }
                let ranks = members.dropFirst(head.count).map { rank[$0.0] ?? rank.count }
                // Documents written in the schemas' order (most) need no sort.
                if zip(ranks, ranks.dropFirst()).contains(where: { $0 > $1 }) {
                    let rest = members.dropFirst(head.count).enumerated().sorted {
                        (ranks[$0.offset], $0.offset) < (ranks[$1.offset], $1.offset)
                    }
                    members = Array(head) + rest.map(\.element)
                }
            }
            return .object(JSONObject(members))
        }

        /// A member's value; its XPath (`parent/name[index]`) is made only for an
        /// object read below it or a problem reported.
        mutating func readMember(_ element: XMLElement, _ attribute: RMSchema.Attribute, parent: XPath, name: String, index: Int?) -> JSON? {
            guard let primitive = attribute.primitive else {
                return readObject(element, declared: attribute.types, path: XPath(parent: parent, name: name, index: index))
            }
            if primitive == .object { return readObject(element, declared: [], path: XPath(parent: parent, name: name, index: index)) }
            var path: XPath { XPath(parent: parent, name: name, index: index) }
            guard element.children.isEmpty else {
                report(path, element, "a \(primitive.rawValue) value has no child elements")
                return nil
            }
            let text = element.text
            switch primitive {
            case .string, .object:
                return .string(text)
            case .boolean:
                switch CanonicalXML.trimmed(text) {
                case "true", "1": return .bool(true)
                case "false", "0": return .bool(false)
                default:
                    report(path, element, "'\(text)' is not an xs:boolean (true, false, 1 or 0)")
                    return nil
                }
            case .integer:
                let trimmed = CanonicalXML.trimmed(text)
                guard let value = Int(trimmed.hasPrefix("+") ? String(trimmed.dropFirst()) : trimmed) else {
                    report(path, element, "'\(text)' is not an integer")
                    return nil
                }
                return .number(String(value))
            case .number:
                guard let number = CanonicalXML.jsonNumber(CanonicalXML.trimmed(text)) else {
                    report(path, element, "'\(text)' is not a finite number")
                    return nil
                }
                return .number(number)
            }
        }
    }

    /// An element's XPath, rendered only for a problem report.
    final class XPath {
        let parent: XPath?
        let name: String
        let index: Int?

        init(parent: XPath?, name: String, index: Int?) {
            self.parent = parent
            self.name = name
            self.index = index
        }

        var rendered: String {
            var steps: [String] = []
            var node: XPath? = self
            while let current = node {
                steps.append(current.name + (current.index.map { "[\($0)]" } ?? ""))
                node = current.parent
            }
            return "/" + steps.reversed().joined(separator: "/")
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, checked byte by byte.
    static func isJSONNumber(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        var index = 0
        func digits() -> Int {
            let start = index
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
            return index - start
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        let integer = index
        guard digits() > 0, bytes[integer] != 0x30 || index == integer + 1 else { return false }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { return false }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { return false }
        }
        return index == bytes.count
    }

    static func isXMLSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }

    /// Only XML white space (the indentation between elements).
    static func isBlank(_ text: String) -> Bool { text.utf8.allSatisfy(isXMLSpace) }

    /// Without leading and trailing XML white space (most values have none).
    static func trimmed(_ text: String) -> String {
        let bytes = text.utf8
        guard let first = bytes.first, let last = bytes.last, isXMLSpace(first) || isXMLSpace(last) else { return text }
        guard let start = bytes.firstIndex(where: { !isXMLSpace($0) }), let end = bytes.lastIndex(where: { !isXMLSpace($0) }) else { return "" }
        return String(text[start...end])
    }

    /// An XML Schema decimal or float as a JSON number, kept as written
    /// when it already is one (`.5` becomes `0.5`, `+2` becomes `2`, `3.`
    /// becomes `3`); `nil` for INF, NaN and anything else.
    static func jsonNumber(_ text: String) -> String? {
        if isJSONNumber(text) { return text }
        var body = Substring(text)
        var sign = ""
        if body.hasPrefix("+") {
            body = body.dropFirst()
        } else if body.hasPrefix("-") {
            body = body.dropFirst()
            sign = "-"
        }
        let mantissaEnd = body.firstIndex { $0 == "e" || $0 == "E" } ?? body.endIndex
        var mantissa = body[..<mantissaEnd]
        let exponent = body[mantissaEnd...]
        let parts = mantissa.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard !mantissa.isEmpty, parts.count <= 2, parts.allSatisfy({ $0.allSatisfy(\.isASCIIDigit) }),
            parts.contains(where: { !$0.isEmpty })
        else { return nil }
        if exponent.count > 0 {
            var digits = exponent.dropFirst()
            if digits.hasPrefix("+") || digits.hasPrefix("-") { digits = digits.dropFirst() }
            guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit) else { return nil }
        }
        var integer = parts[0].isEmpty ? "0" : String(parts[0])
        while integer.count > 1, integer.hasPrefix("0") { integer.removeFirst() }
        mantissa = Substring(integer + (parts.count == 2 && !parts[1].isEmpty ? "." + parts[1] : ""))
        return sign + mantissa + exponent
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

extension RMSchema {
    /// The type of an XML element without `xsi:type`: the type the
    /// position declares in the XML schemas when it is concrete (one type,
    /// or the concrete supertype among those admitted: a `name` is a
    /// DV_TEXT, a `contribution` an OBJECT_REF). Where the schemas declare
    /// an abstract type (PARTY_PROXY, UID_BASED_ID, DATA_VALUE) there is
    /// none: `xsi:type` is mandatory.
    func defaultTypeForXML(among types: [String]) -> String? {
        if types.count == 1 { return types[0] }
        let admitted = Set(types)
        for (concrete, family) in Self.concreteFamilies where admitted.contains(concrete) && admitted.isSubset(of: family) {
            return concrete
        }
        return nil
    }

    /// Concrete declared types and the subtypes a position declared with
    /// them admits (PARTY_IDENTIFIED without PARTY_SELF: where PARTY_SELF is
    /// admitted the schemas declare the abstract PARTY_PROXY).
    static let concreteFamilies: [(String, Set<String>)] = [
        ("DV_TEXT", ["DV_TEXT", "DV_CODED_TEXT"]),
        ("OBJECT_REF", ["OBJECT_REF", "PARTY_REF", "LOCATABLE_REF", "ACCESS_GROUP_REF"]),
        ("DV_URI", ["DV_URI", "DV_EHR_URI"]),
        ("AUDIT_DETAILS", ["AUDIT_DETAILS", "ATTESTATION"]),
        ("PARTY_IDENTIFIED", ["PARTY_IDENTIFIED", "PARTY_RELATED"]),
    ]
}
