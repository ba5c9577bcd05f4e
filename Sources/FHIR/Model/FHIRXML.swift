import Foundation
import JSONCore

#if canImport(FoundationXML)
import FoundationXML
#endif

/// Reads a resource in FHIR XML (R4 §XML Representation) into its JSON form,
/// using the definitions to tell arrays from single values and the JSON kind
/// of each primitive: `<birthDate value="1974-12-25"><extension …/></birthDate>`
/// becomes `"birthDate": "1974-12-25", "_birthDate": {"extension": […]}`.
public enum FHIRXMLReader {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// An XML element with its children and, for the XHTML narrative, its
    /// text as written.
    final class Element {
        let name: String
        let namespace: String?
        let attributes: [String: String]
        var children: [Element] = []
        var markup = ""
        init(name: String, namespace: String?, attributes: [String: String]) {
            self.name = name
            self.namespace = namespace
            self.attributes = attributes
        }
    }

    /// Elements nested deeper than this are refused before the tree is walked
    /// (no resource comes near; a deeper document would exhaust the stack).
    static let maximumDepth = 256

    public static func json(_ data: Data) throws(Failure) -> JSON {
        let builder = Builder()
        let parser = XMLParser(data: data)
        parser.shouldProcessNamespaces = true
        parser.delegate = builder
        let parsed = parser.parse()
        if let line = builder.tooDeepAtLine {
            throw Failure(message: "line \(line): elements are nested deeper than \(maximumDepth) levels")
        }
        guard parsed, let root = builder.root else {
            throw Failure(message: "malformed XML at line \(parser.lineNumber): \(parser.parserError.map { "\($0)" } ?? "")")
        }
        return try resource(root, path: root.name)
    }

    static func resource(_ element: Element, path: String) throws(Failure) -> JSON {
        guard let type = FHIRSchema.r4.type(element.name), type.kind == .resource else {
            throw Failure(message: "\(path): '\(element.name)' is not a resource type")
        }
        var object = JSONObject()
        object["resourceType"] = .string(element.name)
        try fill(&object, from: element, type: element.name, path: path)
        return .object(object)
    }

    static func fill(_ object: inout JSONObject, from element: Element, type: String, path: String) throws(Failure) {
        let schema = FHIRSchema.r4
        guard let definition = schema.type(type) else { throw Failure(message: "\(path): unknown type \(type)") }
        if let id = element.attributes["id"], definition.kind != .resource { object["id"] = .string(id) }
        if let url = element.attributes["url"] { object["url"] = .string(url) }
        var arrays: [String: (values: [JSON], extensions: [JSON])] = [:]
        var order: [String] = []
        for child in element.children {
            guard let member = definition.jsonMembers[child.name] else {
                throw Failure(message: "\(path): unknown element '\(child.name)'")
            }
            let childPath = path + "." + child.name
            var value: JSON = .null
            var extensionPart: JSON = .null
            if member.type == "xhtml" {
                value = .string(child.markup)
            } else if schema.primitiveTypes.contains(member.type) || member.type.hasPrefix("System.") {
                if let text = child.attributes["value"] { value = primitive(text, type: member.type) }
                var ext = JSONObject()
                if let id = child.attributes["id"] { ext["id"] = .string(id) }
                let extensions = try child.children.filter { $0.name == "extension" }.map { (e) throws(Failure) -> JSON in
                    var o = JSONObject()
                    try fill(&o, from: e, type: "Extension", path: childPath + ".extension")
                    return .object(o)
                }
                if !extensions.isEmpty { ext["extension"] = .array(extensions) }
                if !ext.isEmpty { extensionPart = .object(ext) }
            } else if member.type == "Resource" {
                guard let inner = child.children.first else { throw Failure(message: "\(childPath): a resource is expected inside") }
                value = try resource(inner, path: childPath)
            } else {
                var o = JSONObject()
                try fill(&o, from: child, type: member.type, path: childPath)
                value = .object(o)
            }
            if arrays[child.name] == nil { order.append(child.name) }
            arrays[child.name, default: ([], [])].values.append(value)
            arrays[child.name, default: ([], [])].extensions.append(extensionPart)
            _ = member
        }
        for name in order {
            guard let entry = arrays[name], let member = definition.jsonMembers[name] else { continue }
            let hasValues = entry.values.contains { $0 != .null }
            let hasExtensions = entry.extensions.contains { $0 != .null }
            if member.element.isArray {
                if hasValues { object[name] = .array(entry.values) }
                if hasExtensions { object["_" + name] = .array(entry.extensions) }
            } else {
                if hasValues { object[name] = entry.values[0] }
                if hasExtensions { object["_" + name] = entry.extensions[0] }
            }
        }
    }

    static func primitive(_ text: String, type: String) -> JSON {
        switch type {
        case "boolean": return text == "true" ? .bool(true) : (text == "false" ? .bool(false) : .string(text))
        case "integer", "positiveInt", "unsignedInt", "decimal":
            // A JSON number as written (`1.000000000000000000E-245` too); otherwise a string the check refuses.
            if case .number? = try? JSONParser.parse(text) { return .number(text) }
            return .string(text)
        default: return .string(text)
        }
    }

    final class Builder: NSObject, XMLParserDelegate {
        var stack: [Element] = []
        var root: Element?
        /// Depth inside an XHTML narrative, whose markup is kept as text.
        var xhtmlDepth = 0
        var tooDeepAtLine: Int?

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            guard stack.count + xhtmlDepth < FHIRXMLReader.maximumDepth else {
                tooDeepAtLine = parser.lineNumber
                parser.abortParsing()
                return
            }
            if xhtmlDepth > 0 || namespaceURI == "http://www.w3.org/1999/xhtml" {
                if xhtmlDepth == 0 {
                    let element = Element(name: elementName, namespace: namespaceURI, attributes: attributes)
                    element.markup = "<\(elementName) xmlns=\"http://www.w3.org/1999/xhtml\"" + Self.attributes(attributes) + ">"
                    stack.append(element)
                } else {
                    stack.last?.markup += "<\(elementName)" + Self.attributes(attributes) + ">"
                }
                xhtmlDepth += 1
                return
            }
            stack.append(Element(name: elementName, namespace: namespaceURI, attributes: attributes))
        }

        static func attributes(_ attributes: [String: String]) -> String {
            attributes.sorted { $0.key < $1.key }.map { " \($0.key)=\"\(escape($0.value))\"" }.joined()
        }

        static func escape(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if xhtmlDepth > 0 {
                // Text needs only & and < escaped (and > for symmetry); quotes stay as written.
                stack.last?.markup += string.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                    .replacingOccurrences(of: ">", with: "&gt;")
            }
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
            if xhtmlDepth > 0 {
                stack.last?.markup += "</\(elementName)>"
                xhtmlDepth -= 1
                if xhtmlDepth > 0 { return }
            }
            guard let element = stack.popLast() else { return }
            if let parent = stack.last { parent.children.append(element) } else { root = element }
        }
    }
}
