import JSONCore

/// Why a patch could not be applied: the operation (its index) and the reason.
public struct PatchError: Error, Sendable, CustomStringConvertible {
    public var operation: Int
    public var message: String
    public var description: String { "operation \(operation): \(message)" }
}

/// JSON Patch (RFC 6902), as FHIR R4 §PATCH accepts it: add, remove,
/// replace, move, copy and test, applied in order, all or nothing.
public enum JSONPatch {
    public static func apply(_ patch: JSON, to document: JSON) throws(PatchError) -> JSON {
        guard case .array(let operations) = patch else { throw PatchError(operation: 0, message: "a JSON Patch is an array of operations") }
        var result = document
        for (index, operation) in operations.enumerated() {
            do {
                try apply(operation, to: &result)
            } catch {
                throw PatchError(operation: index, message: error.message)
            }
        }
        return result
    }

    struct Failure: Error { var message: String }

    static func apply(_ operation: JSON, to document: inout JSON) throws(Failure) {
        guard case .object(let object) = operation, let op = object["op"]?.stringValue else {
            throw Failure(message: "an operation is an object with 'op'")
        }
        guard let pathText = object["path"]?.stringValue else { throw Failure(message: "'\(op)' needs a path") }
        let path = try pointer(pathText)
        func value() throws(Failure) -> JSON {
            guard let value = object["value"] else { throw Failure(message: "'\(op)' needs a value") }
            return value
        }
        switch op {
        case "add": try add(try value(), at: path, in: &document)
        case "remove": _ = try remove(at: path, in: &document)
        case "replace":
            _ = try remove(at: path, in: &document)
            try add(try value(), at: path, in: &document)
        case "move", "copy":
            guard let fromText = object["from"]?.stringValue else { throw Failure(message: "'\(op)' needs from") }
            let from = try pointer(fromText)
            if op == "move" && path.count > from.count && Array(path.prefix(from.count)) == from {
                throw Failure(message: "a value cannot move into itself")
            }
            let moved = op == "move" ? try remove(at: from, in: &document) : try get(from, in: document)
            try add(moved, at: path, in: &document)
        case "test":
            guard try get(path, in: document) == (try value()) else { throw Failure(message: "test failed at \(pathText)") }
        default:
            throw Failure(message: "unknown operation '\(op)'")
        }
    }

    /// RFC 6901 JSON Pointer: `/a/b~1c/0` → ["a", "b/c", "0"].
    static func pointer(_ text: String) throws(Failure) -> [String] {
        if text.isEmpty { return [] }
        guard text.hasPrefix("/") else { throw Failure(message: "'\(text)' is not a JSON Pointer") }
        return text.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    static func get(_ path: [String], in document: JSON) throws(Failure) -> JSON {
        var current = document
        for token in path {
            switch current {
            case .object(let object):
                guard let next = object[token] else { throw Failure(message: "path /\(path.joined(separator: "/")) does not exist") }
                current = next
            case .array(let items):
                guard let index = Int(token), items.indices.contains(index) else { throw Failure(message: "no array element \(token)") }
                current = items[index]
            default:
                throw Failure(message: "path /\(path.joined(separator: "/")) does not exist")
            }
        }
        return current
    }

    static func add(_ value: JSON, at path: [String], in document: inout JSON) throws(Failure) {
        guard let last = path.last else {
            document = value
            return
        }
        try modify(Array(path.dropLast()), in: &document) { (parent) throws(Failure) in
            switch parent {
            case .object(var object):
                object[last] = value
                parent = .object(object)
            case .array(var items):
                if last == "-" {
                    items.append(value)
                } else {
                    guard let index = Int(last), index >= 0, index <= items.count, String(index) == last else {
                        throw Failure(message: "'\(last)' is not an index of the array")
                    }
                    items.insert(value, at: index)
                }
                parent = .array(items)
            default:
                throw Failure(message: "the parent of /\(path.joined(separator: "/")) is not a container")
            }
        }
    }

    static func remove(at path: [String], in document: inout JSON) throws(Failure) -> JSON {
        guard let last = path.last else { throw Failure(message: "the whole document cannot be removed") }
        var removed: JSON = .null
        try modify(Array(path.dropLast()), in: &document) { (parent) throws(Failure) in
            switch parent {
            case .object(var object):
                guard let value = object[last] else { throw Failure(message: "path /\(path.joined(separator: "/")) does not exist") }
                removed = value
                object[last] = nil
                parent = .object(object)
            case .array(var items):
                guard let index = Int(last), items.indices.contains(index) else { throw Failure(message: "no array element \(last)") }
                removed = items.remove(at: index)
                parent = .array(items)
            default:
                throw Failure(message: "path /\(path.joined(separator: "/")) does not exist")
            }
        }
        return removed
    }

    static func modify(_ path: [String], in document: inout JSON, _ change: (inout JSON) throws(Failure) -> Void) throws(Failure) {
        guard let first = path.first else {
            try change(&document)
            return
        }
        let rest = Array(path.dropFirst())
        switch document {
        case .object(var object):
            guard var child = object[first] else { throw Failure(message: "path /\(first) does not exist -- missing objects are not created") }
            try modify(rest, in: &child, change)
            object[first] = child
            document = .object(object)
        case .array(var items):
            guard let index = Int(first), items.indices.contains(index) else { throw Failure(message: "no array element \(first)") }
            try modify(rest, in: &items[index], change)
            document = .array(items)
        default:
            throw Failure(message: "path /\(first) does not exist")
        }
    }
}
