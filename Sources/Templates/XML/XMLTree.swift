import Foundation

#if canImport(FoundationXML)
import FoundationXML
#endif

/// An element of a parsed XML document: local name, attributes by local
/// name (`xsi:type` is `type`), child elements, text, and the line it
/// starts on, for error messages.
public struct XMLElement: Sendable {
    public var name: String
    public var attributes: [String: String]
    public var children: [XMLElement]
    public var text: String
    public var line: Int

    public func child(_ name: String) -> XMLElement? { children.first { $0.name == name } }
    public func children(_ name: String) -> [XMLElement] { children.filter { $0.name == name } }
    /// The trimmed text of a child element.
    public func text(of name: String) -> String? { child(name)?.text.trimmingCharacters(in: .whitespacesAndNewlines) }
    public var xsiType: String? { attributes["type"] }
}

/// Why an XML document could not be read.
public struct XMLSyntaxError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var line: Int
    public var description: String { "line \(line): \(message)" }
}

/// Builds an `XMLElement` tree with Foundation's event parser.
public enum XMLTree {
    /// Elements nested deeper than this are refused (RM trees are far
    /// shallower; a deeper document would exhaust the stack of whatever walks it).
    public static let maximumDepth = 256

    public static func parse(_ data: Data) throws(XMLSyntaxError) -> XMLElement {
        let builder = Builder()
        let parser = XMLParser(data: data)
        parser.shouldProcessNamespaces = true
        parser.delegate = builder
        let ok = parser.parse()
        if let tooDeep = builder.tooDeepAtLine {
            throw XMLSyntaxError(message: "elements are nested deeper than \(maximumDepth) levels", line: tooDeep)
        }
        guard ok, let root = builder.root else {
            let line = parser.lineNumber
            let reason = builder.root == nil && ok ? "the document has no root element" : (parser.parserError.map { "\($0.localizedDescription)" } ?? "malformed XML")
            throw XMLSyntaxError(message: reason.isEmpty ? "malformed XML" : reason, line: max(line, 1))
        }
        return root
    }

    final class Builder: NSObject, XMLParserDelegate {
        var stack: [XMLElement] = []
        var root: XMLElement?
        var tooDeepAtLine: Int?

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
            attributes attributeDict: [String: String] = [:]
        ) {
            guard stack.count < XMLTree.maximumDepth else {
                tooDeepAtLine = parser.lineNumber
                parser.abortParsing()
                return
            }
            var attributes: [String: String] = [:]
            for (key, value) in attributeDict { attributes[Self.localName(key)] = value }
            let local = Self.localName(elementName)
            stack.append(XMLElement(name: local, attributes: attributes, children: [], text: "", line: parser.lineNumber))
        }

        /// `xsi:type` → `type`.
        static func localName(_ name: String) -> String {
            guard let colon = name.lastIndex(of: ":") else { return name }
            return String(name[name.index(after: colon)...])
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard !stack.isEmpty else { return }
            stack[stack.count - 1].text += string
        }

        func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
            guard !stack.isEmpty else { return }
            stack[stack.count - 1].text += String(decoding: CDATABlock, as: UTF8.self)
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
            guard let element = stack.popLast() else { return }
            if stack.isEmpty {
                root = element
            } else {
                stack[stack.count - 1].children.append(element)
            }
        }
    }
}
