import JSONCore

/// STRUCTURED compositions: the FLAT paths nested (`{"tree": {"node":
/// [{"leaf": [{"|magnitude": 1}]}]}}`, every node an array of its
/// occurrences). They are read and written through FLAT, so both forms
/// place values the same way.
public enum StructuredFormat {
    /// The FLAT keys of a STRUCTURED composition.
    public static func flat(_ structured: JSONObject) -> JSONObject {
        var result = JSONObject()
        for member in structured.members {
            if member.key == "ctx", case .object(let context) = member.value {
                for entry in context.members {
                    if case .object(let parts) = entry.value {
                        for part in parts.members { result["ctx/" + entry.key + part.key] = part.value }
                    } else {
                        result["ctx/" + entry.key] = entry.value
                    }
                }
                continue
            }
            let root = member.value.arrayValue?.first ?? member.value
            if case .object(let object) = root { walk(object, path: member.key, into: &result) }
        }
        return result
    }

    static func walk(_ object: JSONObject, path: String, into result: inout JSONObject) {
        for member in object.members {
            if member.key.hasPrefix("|") {
                result[path + member.key] = member.value
                continue
            }
            let items = member.value.arrayValue ?? [member.value]
            for (index, item) in items.enumerated() {
                // One occurrence needs no index (`_uid`, a single node); several are numbered.
                let here = path + "/" + member.key + (items.count > 1 ? ":\(index)" : "")
                if case .object(let child) = item { walk(child, path: here, into: &result) } else { result[here] = item }
            }
        }
    }

    /// The STRUCTURED form of FLAT keys.
    public static func structured(_ flat: JSONObject) -> JSONObject {
        let root = Branch()
        var context = JSONObject()
        for member in flat.members {
            if member.key.hasPrefix("ctx/") {
                context[String(member.key.dropFirst(4))] = member.value
                continue
            }
            var path = member.key
            var suffix: String?
            if let bar = path.lastIndex(of: "|") {
                suffix = String(path[path.index(after: bar)...])
                path = String(path[..<bar])
            }
            var segments = path.split(separator: "/").map(String.init)
            guard !segments.isEmpty else { continue }
            let rootID = segments.removeFirst()
            var current = root.child(rootID, 0)
            for segment in segments {
                var name = segment
                var index = 0
                if let colon = segment.lastIndex(of: ":"), let number = Int(segment[segment.index(after: colon)...]) {
                    name = String(segment[..<colon])
                    index = number
                }
                current = current.child(name, index)
            }
            if let suffix { current.suffixes["|" + suffix] = member.value } else { current.value = member.value }
        }
        var result = JSONObject()
        if !context.isEmpty { result["ctx"] = .object(context) }
        for (name, items) in root.children {
            if let first = items.first { result[name] = first.json }
        }
        return result
    }

    /// A node being built: its occurrences by name, its suffixes, or a plain value.
    final class Branch {
        var children: [(String, [Branch])] = []
        var suffixes = JSONObject()
        var value: JSON?

        func child(_ name: String, _ index: Int) -> Branch {
            let position = children.firstIndex { $0.0 == name } ?? {
                children.append((name, []))
                return children.count - 1
            }()
            while children[position].1.count <= index { children[position].1.append(Branch()) }
            return children[position].1[index]
        }

        var json: JSON {
            if let value, children.isEmpty, suffixes.isEmpty { return value }
            var object = suffixes
            if let value { object["|value"] = object["|value"] ?? value }
            for (name, items) in children { object[name] = .array(items.map(\.json)) }
            return .object(object)
        }
    }
}
