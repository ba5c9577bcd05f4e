import JSONCore

/// Writes a resource's JSON form as FHIR XML (R4 §XML Representation), the
/// inverse of `FHIRXMLReader`: elements in the order the definitions give,
/// primitives as `value` attributes with their `_name` companions' id and
/// extensions inside, element ids and extension urls as attributes, the
/// narrative's XHTML as written, contained resources wrapped in their type.
public enum FHIRXMLWriter {
    /// The document, indented by two spaces per level when `pretty`.
    public static func xml(_ resource: JSON, pretty: Bool = false) -> String {
        var writer = Writer(pretty: pretty)
        writer.output = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>" + (pretty ? "\n" : "")
        writer.resource(resource, depth: 0, namespace: true)
        return writer.output
    }

    struct Writer {
        let pretty: Bool
        var output = ""
        let schema = FHIRSchema.r4

        mutating func line(_ text: String, depth: Int) {
            if pretty { output += String(repeating: "  ", count: depth) }
            output += text
            if pretty { output += "\n" }
        }

        mutating func resource(_ json: JSON, depth: Int, namespace: Bool) {
            guard case .object(let object) = json, let type = object["resourceType"]?.stringValue else { return }
            line("<\(type)\(namespace ? " xmlns=\"http://hl7.org/fhir\"" : "")>", depth: depth)
            children(of: object, type: type, depth: depth + 1, skipping: ["resourceType"])
            line("</\(type)>", depth: depth)
        }

        /// The members of an object of `type`, in the order of its elements.
        mutating func children(of object: JSONObject, type: String, depth: Int, skipping: Set<String>) {
            guard let definition = schema.type(type) else { return }
            for element in definition.elements {
                let keys = element.isChoice ? element.choiceKeys.map { ($0.key, $0.type) } : [(element.name, element.types.first ?? "")]
                for (key, memberType) in keys where !skipping.contains(key) && (object[key] != nil || object["_" + key] != nil) {
                    member(key, type: memberType, value: object[key], companion: object["_" + key], depth: depth)
                }
            }
        }

        /// One member: each of its values (an array gives several elements).
        mutating func member(_ name: String, type: String, value: JSON?, companion: JSON?, depth: Int) {
            let values: [JSON?]
            let companions: [JSON?]
            if case .array(let items)? = value {
                values = items
                companions = companion?.arrayValue ?? []
            } else if case .array(let items)? = companion, value == nil {
                values = items.map { _ in nil }
                companions = items
            } else {
                values = [value]
                companions = [companion]
            }
            for index in values.indices {
                let item = values[index].flatMap { $0 == .null ? nil : $0 }
                let extra = index < companions.count ? companions[index].flatMap { $0 == .null ? nil : $0 } : nil
                element(name, type: type, value: item, companion: extra, depth: depth)
            }
        }

        mutating func element(_ name: String, type: String, value: JSON?, companion: JSON?, depth: Int) {
            if type == "xhtml" {
                if let markup = value?.stringValue { line(markup, depth: depth) }
            } else if JSONMember.isPrimitiveType(type) {
                primitive(name, value: value, companion: companion, depth: depth)
            } else if type == "Resource" {
                guard let value else { return }
                line("<\(name)>", depth: depth)
                resource(value, depth: depth + 1, namespace: false)
                line("</\(name)>", depth: depth)
            } else if case .object(let object)? = value {
                var attributes = ""
                if let id = object["id"]?.stringValue { attributes += " id=\"\(Self.escape(id))\"" }
                if type == "Extension", let url = object["url"]?.stringValue { attributes += " url=\"\(Self.escape(url))\"" }
                let inner = object.members.contains { $0.key != "id" && !(type == "Extension" && $0.key == "url") }
                guard inner else {
                    line("<\(name)\(attributes)/>", depth: depth)
                    return
                }
                line("<\(name)\(attributes)>", depth: depth)
                children(of: object, type: type, depth: depth + 1, skipping: type == "Extension" ? ["id", "url"] : ["id"])
                line("</\(name)>", depth: depth)
            }
        }

        mutating func primitive(_ name: String, value: JSON?, companion: JSON?, depth: Int) {
            var attributes = ""
            if let id = companion?["id"]?.stringValue { attributes += " id=\"\(Self.escape(id))\"" }
            if let value { attributes += " value=\"\(Self.escape(Self.text(value)))\"" }
            let extensions = companion?["extension"]?.arrayValue ?? []
            guard !extensions.isEmpty else {
                line("<\(name)\(attributes)/>", depth: depth)
                return
            }
            line("<\(name)\(attributes)>", depth: depth)
            for item in extensions { element("extension", type: "Extension", value: item, companion: nil, depth: depth + 1) }
            line("</\(name)>", depth: depth)
        }

        /// A primitive's lexical form: numbers as written, booleans as `true`/`false`.
        static func text(_ value: JSON) -> String {
            switch value {
            case .string(let text): text
            case .number(let text): text
            case .bool(let flag): flag ? "true" : "false"
            default: JSONSerializer.string(value)
            }
        }

        static func escape(_ text: String) -> String {
            var result = ""
            result.reserveCapacity(text.utf8.count)
            for character in text {
                switch character {
                case "&": result += "&amp;"
                case "<": result += "&lt;"
                case ">": result += "&gt;"
                case "\"": result += "&quot;"
                case "\n": result += "&#10;"
                case "\r": result += "&#13;"
                case "\t": result += "&#9;"
                default: result.append(character)
                }
            }
            return result
        }
    }
}
