import JSONCore

/// An element of a resource as FHIRPath sees it: its JSON value (nil for a
/// primitive that has only extensions), the `_name` companion of a primitive,
/// its FHIR type, the element that declares it and where it is.
public final class FHIRNode: Sendable {
    public let value: JSON?
    /// `{"id":…, "extension":[…]}` written beside a primitive as `_name`.
    public let primitiveExtension: JSON?
    public let type: String
    public let element: ElementDefinition?
    public let name: String
    /// FHIRPath location of the node (`Patient.name[0].given[1]`); empty
    /// below a root made without location tracking (search indexing, where
    /// building the strings would cost more than the rest).
    public let location: String
    let tracksLocation: Bool

    public init(
        value: JSON?, primitiveExtension: JSON? = nil, type: String, element: ElementDefinition?, name: String, location: String,
        tracksLocation: Bool = true
    ) {
        self.value = value
        self.primitiveExtension = primitiveExtension
        self.type = type
        self.element = element
        self.name = name
        self.location = location
        self.tracksLocation = tracksLocation
    }

    /// The root node of a resource.
    public convenience init(resource: JSON, tracksLocation: Bool = true) {
        let type = resource["resourceType"]?.stringValue ?? "Resource"
        self.init(value: resource, type: type, element: nil, name: type, location: type, tracksLocation: tracksLocation)
    }

    public var isPrimitive: Bool { FHIRSchema.r4.primitiveTypes.contains(type) || type.hasPrefix("System.") }

    /// The child nodes of an element, in document order (FHIRPath children()).
    public func children() -> [FHIRNode] {
        var result: [FHIRNode] = []
        let schema = FHIRSchema.r4
        if isPrimitive {
            guard let ext = primitiveExtension?.objectValue, let element = schema.type("Element") else { return [] }
            for member in ext.members {
                if let target = element.jsonMembers[member.key] { result += childNodes(target, key: member.key, value: member.value, extensionValue: nil) }
            }
            return result
        }
        guard case .object(let object)? = value, let definition = schema.type(type) else { return [] }
        for member in object.members where member.key != "resourceType" {
            if member.key.utf8.first == UInt8(ascii: "_") {
                let base = String(member.key.dropFirst())
                if object[base] == nil, let target = definition.jsonMembers[base] {
                    result += childNodes(target, key: base, value: nil, extensionValue: member.value)
                }
                continue
            }
            guard let target = definition.jsonMembers[member.key] else { continue }
            let ext = target.element.isPrimitiveValued || target.element.isChoice ? object["_" + member.key] : nil
            result += childNodes(target, key: member.key, value: member.value, extensionValue: ext)
        }
        return result
    }

    /// The nodes of one element by its FHIRPath name (`value` finds
    /// `valueQuantity`); nil when the type has no such element.
    public func children(named name: String) -> [FHIRNode]? {
        let schema = FHIRSchema.r4
        if isPrimitive {
            guard name == "id" || name == "extension" else { return nil }
            guard let value = primitiveExtension?[name], let target = schema.type("Element")?.jsonMembers[name] else { return [] }
            return childNodes(target, key: name, value: value, extensionValue: nil)
        }
        guard let definition = schema.type(type), let element = definition.elementsByName[name] else { return nil }
        guard case .object(let object)? = value else { return [] }
        if element.isChoice {
            for choice in element.choiceKeys {
                let found = object[choice.key]
                let ext = found == nil || FHIRSchema.r4.primitiveTypes.contains(choice.type) ? object[choice.extensionKey] : nil
                if found != nil || ext != nil {
                    return childNodes(JSONMember(element: element, type: choice.type), key: choice.key, value: found, extensionValue: ext)
                }
            }
            return []
        }
        let found = object[name]
        let ext = element.isPrimitiveValued ? object[element.extensionKey] : nil
        if found == nil && ext == nil { return [] }
        return childNodes(JSONMember(element: element, type: element.types.first ?? ""), key: name, value: found, extensionValue: ext)
    }

    func childNodes(_ member: JSONMember, key: String, value: JSON?, extensionValue: JSON?) -> [FHIRNode] {
        let elementName = member.element.name
        let declared = member.type
        func make(_ item: JSON?, _ ext: JSON?, _ index: Int?) -> FHIRNode? {
            if item == nil && ext == nil { return nil }
            if case .null? = item, ext == nil || ext == .null { return nil }
            let item = item == .null ? nil : item
            let concrete = declared == "Resource" ? (item?["resourceType"]?.stringValue ?? declared) : declared
            let path = tracksLocation ? location + "." + elementName + (index.map { "[\($0)]" } ?? "") : ""
            return FHIRNode(
                value: item, primitiveExtension: ext == .null ? nil : ext, type: concrete, element: member.element,
                name: elementName, location: path, tracksLocation: tracksLocation)
        }
        if case .array(let items)? = value {
            let extensions = extensionValue?.arrayValue
            var nodes: [FHIRNode] = []
            nodes.reserveCapacity(items.count)
            for index in items.indices {
                if let node = make(items[index], extensions?[safe: index], index) { nodes.append(node) }
            }
            return nodes
        }
        if value == nil, case .array(let extensions)? = extensionValue {
            return extensions.indices.compactMap { make(nil, extensions[$0], $0) }
        }
        return make(value, extensionValue, nil).map { [$0] } ?? []
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
