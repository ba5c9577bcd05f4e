import JSONCore

/// FHIRPath Patch (R4 §FHIRPath Patch): a Parameters resource whose
/// `operation` parameters add, insert, delete, replace and move elements
/// selected by FHIRPath. Operations apply in order, all or nothing.
public enum FHIRPathPatch {
    struct Operation {
        var type: String
        var path: FHIRPathExpression
        var pathText: String
        var name: String?
        /// The value's JSON key suffix (`Date` of valueDate), nil for an
        /// anonymous (backbone) value built from parts.
        var valueType: String?
        var value: JSON?
        var valueExtension: JSON?
        var index: Int?
        var source: Int?
        var destination: Int?
    }

    public static func apply(_ parameters: JSON, to resource: JSON) throws(PatchError) -> JSON {
        guard parameters["resourceType"]?.stringValue == "Parameters" else {
            throw PatchError(operation: 0, message: "a FHIRPath Patch is a Parameters resource")
        }
        var result = resource
        for (index, parameter) in (parameters["parameter"]?.arrayValue ?? []).enumerated() {
            do {
                let operation = try read(parameter)
                try apply(operation, to: &result)
            } catch {
                throw PatchError(operation: index, message: error.message)
            }
        }
        return result
    }

    static func read(_ parameter: JSON) throws(JSONPatch.Failure) -> Operation {
        guard parameter["name"]?.stringValue == "operation" else { throw JSONPatch.Failure(message: "a parameter other than 'operation'") }
        var parts: [String: JSON] = [:]
        for part in parameter["part"]?.arrayValue ?? [] {
            if let name = part["name"]?.stringValue { parts[name] = part }
        }
        func text(_ name: String) -> String? {
            guard let part = parts[name]?.objectValue else { return nil }
            return part.members.first { $0.key.hasPrefix("value") }?.value.stringValue
        }
        func integer(_ name: String) -> Int? {
            guard let part = parts[name]?.objectValue, case .number(let n)? = part.members.first(where: { $0.key.hasPrefix("value") })?.value else { return nil }
            return Int(n)
        }
        guard let type = text("type") else { throw JSONPatch.Failure(message: "the operation has no type") }
        guard let pathText = text("path") else { throw JSONPatch.Failure(message: "the operation has no path") }
        let path: FHIRPathExpression
        do {
            path = try FHIRPathParser.parse(pathText)
        } catch {
            throw JSONPatch.Failure(message: "path '\(pathText)': \(error)")
        }
        var operation = Operation(type: type, path: path, pathText: pathText, name: text("name"), index: integer("index"),
                                  source: integer("source"), destination: integer("destination"))
        if let valuePart = parts["value"]?.objectValue {
            if let member = valuePart.members.first(where: { $0.key.hasPrefix("value") }) {
                operation.valueType = String(member.key.dropFirst(5))
                operation.value = member.value
                operation.valueExtension = valuePart["_" + member.key]
            } else if let nested = valuePart["part"]?.arrayValue {
                operation.value = try anonymous(nested)
            }
        }
        return operation
    }

    /// A value given as parts (`part` named after each element), for
    /// backbone elements that have no type of their own.
    static func anonymous(_ parts: [JSON]) throws(JSONPatch.Failure) -> JSON {
        var object = JSONObject()
        for part in parts {
            guard let name = part["name"]?.stringValue else { continue }
            if let member = part.objectValue?.members.first(where: { $0.key.hasPrefix("value") }) {
                object[name] = member.value
            } else if let nested = part["part"]?.arrayValue {
                object[name] = try anonymous(nested)
            }
        }
        return .object(object)
    }

    static func apply(_ operation: Operation, to resource: inout JSON) throws(JSONPatch.Failure) {
        switch operation.type {
        case "add":
            let container = try single(operation.path, in: resource, operation.pathText, "adding")
            guard let name = operation.name, let value = operation.value else { throw JSONPatch.Failure(message: "add needs a name and a value") }
            guard let element = FHIRSchema.r4.type(container.node.type)?.elementsByName[name] else {
                throw JSONPatch.Failure(message: "\(container.node.type) has no element '\(name)'")
            }
            let key = element.isChoice ? name + (operation.valueType ?? "") : name
            let existing = try? JSONPatch.get(container.pointer + [key], in: resource)
            if element.isArray {
                if existing == nil {
                    try JSONPatch.add(.array([value]), at: container.pointer + [key], in: &resource)
                } else {
                    try JSONPatch.add(value, at: container.pointer + [key, "-"], in: &resource)
                }
            } else {
                guard existing == nil else { throw JSONPatch.Failure(message: "\(operation.pathText).\(name) already has a value") }
                try JSONPatch.add(value, at: container.pointer + [key], in: &resource)
                if let ext = operation.valueExtension { try JSONPatch.add(ext, at: container.pointer + ["_" + key], in: &resource) }
            }
        case "insert", "move":
            let list = try listPointer(operation, in: resource)
            var items = (try? JSONPatch.get(list, in: resource))?.arrayValue ?? []
            if operation.type == "insert" {
                guard let value = operation.value, let index = operation.index, index >= 0, index <= items.count else {
                    throw JSONPatch.Failure(message: "insert needs a value and an index from 0 to \(items.count)")
                }
                items.insert(value, at: index)
            } else {
                guard let source = operation.source, let destination = operation.destination, items.indices.contains(source),
                    items.indices.contains(destination)
                else { throw JSONPatch.Failure(message: "move needs a source and a destination within 0..<\(items.count)") }
                let item = items.remove(at: source)
                items.insert(item, at: destination)
            }
            if (try? JSONPatch.get(list, in: resource)) == nil {
                try JSONPatch.add(.array(items), at: list, in: &resource)
            } else {
                _ = try JSONPatch.remove(at: list, in: &resource)
                try JSONPatch.add(.array(items), at: list, in: &resource)
            }
        case "delete":
            let found = try locate(operation.path, in: resource)
            guard found.count <= 1 else { throw JSONPatch.Failure(message: "\(operation.pathText) selects \(found.count) elements; delete removes one") }
            guard let target = found.first else { return }
            _ = try JSONPatch.remove(at: target.pointer, in: &resource)
            try removeEmptyParents(target.pointer.dropLast(), in: &resource)
        case "replace":
            let target = try single(operation.path, in: resource, operation.pathText, "replacing")
            guard let value = operation.value else { throw JSONPatch.Failure(message: "replace needs a value") }
            var pointer = target.pointer
            if let element = target.node.element, element.isChoice, let type = operation.valueType, !pointer.isEmpty {
                _ = try JSONPatch.remove(at: pointer, in: &resource)
                pointer[pointer.count - 1] = element.name + type
                try JSONPatch.add(value, at: pointer, in: &resource)
            } else {
                _ = try JSONPatch.remove(at: pointer, in: &resource)
                try JSONPatch.add(value, at: pointer, in: &resource)
            }
        default:
            throw JSONPatch.Failure(message: "unknown operation type '\(operation.type)'")
        }
    }

    /// The JSON Pointer of the list a path names (`Patient.identifier`),
    /// found through its container so that an empty list can be filled.
    static func listPointer(_ operation: Operation, in resource: JSON) throws(JSONPatch.Failure) -> [String] {
        guard case .member(let target?, let name) = operation.path else {
            throw JSONPatch.Failure(message: "\(operation.pathText) does not name a list of an element")
        }
        let container = try single(target, in: resource, operation.pathText, operation.type)
        guard let element = FHIRSchema.r4.type(container.node.type)?.elementsByName[name], element.isArray else {
            throw JSONPatch.Failure(message: "\(operation.pathText) is not a list")
        }
        return container.pointer + [name]
    }

    static func single(_ path: FHIRPathExpression, in resource: JSON, _ text: String, _ doing: String) throws(JSONPatch.Failure) -> (node: FHIRNode, pointer: [String]) {
        let found = try locate(path, in: resource)
        guard found.count == 1 else {
            throw JSONPatch.Failure(message: found.isEmpty ? "No content found at \(text) when \(doing)" : "\(text) selects \(found.count) elements")
        }
        return found[0]
    }

    static func locate(_ path: FHIRPathExpression, in resource: JSON) throws(JSONPatch.Failure) -> [(node: FHIRNode, pointer: [String])] {
        let items: [FHIRPathValue]
        do {
            items = try FHIRPathEvaluator.evaluate(path, context: FHIRPathContext(resource: FHIRNode(resource: resource)))
        } catch {
            throw JSONPatch.Failure(message: "\(error)")
        }
        var result: [(FHIRNode, [String])] = []
        for item in items {
            guard case .node(let node) = item else { throw JSONPatch.Failure(message: "the path selects a value, not an element") }
            result.append((node, try pointer(of: node.location, in: resource)))
        }
        return result
    }

    /// `Patient.name[0].given[1]` → `/name/0/given/1`, naming choice
    /// elements by their JSON key (`value` → `valueQuantity`).
    static func pointer(of location: String, in resource: JSON) throws(JSONPatch.Failure) -> [String] {
        var tokens: [String] = []
        var current = resource
        for step in location.split(separator: ".").dropFirst() {
            var name = String(step)
            var index: Int?
            if let bracket = name.firstIndex(of: "["), name.hasSuffix("]") {
                index = Int(name[name.index(after: bracket)..<name.index(before: name.endIndex)])
                name = String(name[..<bracket])
            }
            guard case .object(let object) = current else {
                throw JSONPatch.Failure(message: "\(location): paths into the extensions of a primitive are not patched")
            }
            let key = object[name] != nil ? name
                : object.keys.first { $0.hasPrefix(name) && $0.dropFirst(name.count).first?.isUppercase == true } ?? name
            guard var next = object[key] else { throw JSONPatch.Failure(message: "\(location) does not exist") }
            tokens.append(key)
            if let index {
                guard case .array(let items) = next, items.indices.contains(index) else { throw JSONPatch.Failure(message: "\(location) does not exist") }
                next = items[index]
                tokens.append(String(index))
            }
            current = next
        }
        return tokens
    }

    /// FHIR has no empty arrays or objects: remove what a deletion emptied.
    static func removeEmptyParents(_ pointer: ArraySlice<String>, in resource: inout JSON) throws(JSONPatch.Failure) {
        var path = Array(pointer)
        while !path.isEmpty {
            let value = try JSONPatch.get(path, in: resource)
            let empty = value.arrayValue?.isEmpty == true || value.objectValue?.isEmpty == true
            guard empty else { return }
            _ = try JSONPatch.remove(at: path, in: &resource)
            path.removeLast()
        }
    }
}
