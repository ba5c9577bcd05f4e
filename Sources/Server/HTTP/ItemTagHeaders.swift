import HTTPTypes
import Hummingbird
import JSONCore
import Services
import Storage

/// `openehr-item-tag` (tags of the versioned object) and
/// `openehr-version-item-tag` (tags of the version written), ITS-REST
/// development §HTTP headers: `key="category",value="final"; key="flag",…`,
/// tags separated by `;`, each a list of `key=value` pairs. An empty header
/// removes the target's tags. The tags go through the one check of the tags
/// API (`TagService.tags(fromBody:)`), and are set in the commit's transaction.
enum ItemTagHeaders {
    /// The tags each header sends; nil for a header not sent.
    static func read(_ request: Request) throws -> (object: [ItemTagRecord]?, version: [ItemTagRecord]?) {
        (try tags(request, .itemTag), try tags(request, .versionItemTag))
    }

    static func tags(_ request: Request, _ name: HTTPField.Name) throws -> [ItemTagRecord]? {
        let values = request.headers[values: name]
        guard !values.isEmpty else { return nil }
        var items: [JSON] = []
        for value in values {
            for item in split(value) where !item.trimmingCharacters(in: .whitespaces).isEmpty {
                var object = JSONObject()
                for (key, value) in try AuditHeaders.pairs(String(item), header: name.rawName) { object[key] = .string(value) }
                items.append(.object(object))
            }
        }
        do {
            return try TagService.tags(fromBody: .array(items))
        } catch var error as ServiceError {
            error.message = "header \(name.rawName): " + error.message
            throw error
        }
    }

    /// The tags of a header value, split at the `;` outside quotes.
    static func split(_ text: String) -> [Substring] {
        var parts: [Substring] = []
        var start = text.startIndex
        var quoted = false
        var escaped = false
        for index in text.indices {
            let character = text[index]
            if escaped {
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "\"" {
                quoted.toggle()
            } else if character == ";", !quoted {
                parts.append(text[start..<index])
                start = text.index(after: index)
            }
        }
        parts.append(text[start...])
        return parts
    }

    /// The response headers confirming the tags a write set.
    static func fields(_ committal: Committal) -> HTTPFields {
        var fields = HTTPFields()
        if let tags = committal.objectTags { fields[.itemTag] = render(tags) }
        if let tags = committal.versionTags { fields[.versionItemTag] = render(tags) }
        return fields
    }

    static func render(_ tags: [ItemTagRecord]) -> String {
        tags.map { tag in
            var pairs = ["key=\(quoted(tag.key))"]
            if let value = tag.value { pairs.append("value=\(quoted(value))") }
            if let path = tag.targetPath { pairs.append("target_path=\(quoted(path))") }
            return pairs.joined(separator: ",")
        }.joined(separator: "; ")
    }

    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
