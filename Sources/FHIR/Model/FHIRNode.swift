import JSONCore

/// An element of a resource as FHIRPath sees it: its JSON value (nil for a
/// primitive that has only extensions), the `_name` companion of a primitive,
/// its FHIR type, the element that declares it and where it is.
public struct FHIRNode: Sendable {
    public let value: JSON?
    /// `{"id":…, "extension":[…]}` written beside a primitive as `_name`.
    public let primitiveExtension: JSON?
    public let type: String
    public let element: ElementDefinition?
    public let name: String
    /// FHIRPath location of the node (`Patient.name[0].given[1]`).
    public let location: String

    public init(value: JSON?, primitiveExtension: JSON? = nil, type: String, element: ElementDefinition?, name: String, location: String) {
        self.value = value
        self.primitiveExtension = primitiveExtension
        self.type = type
        self.element = element
        self.name = name
        self.location = location
    }

    /// The root node of a resource.
    public init(resource: JSON) {
        let type = resource["resourceType"]?.stringValue ?? "Resource"
        self.init(value: resource, type: type, element: nil, name: type, location: type)
    }

    public var isPrimitive: Bool { FHIRSchema.r4.primitiveTypes.contains(type) || type.hasPrefix("System.") }

    /// The child nodes of an element, in document order (FHIRPath children()).
    public func children() -> [FHIRNode] {
        var result: [FHIRNode] = []
        if isPrimitive {
            if let ext = primitiveExtension?.objectValue {
                for member in ext.members { result += childNodes(key: member.key, value: member.value, extensionValue: nil) }
            }
            return result
        }
        guard case .object(let object)? = value else { return [] }
        for member in object.members where member.key != "resourceType" {
            if member.key.hasPrefix("_") {
                let base = String(member.key.dropFirst())
                if object[base] == nil { result += childNodes(key: base, value: nil, extensionValue: member.value) }
                continue
            }
            result += childNodes(key: member.key, value: member.value, extensionValue: object["_" + member.key])
        }
        return result
    }

    /// The nodes of one element by its FHIRPath name (`value` finds
    /// `valueQuantity`); nil when the type has no such element.
    public func children(named name: String) -> [FHIRNode]? {
        if isPrimitive {
            guard name == "id" || name == "extension" else { return nil }
            guard let value = primitiveExtension?[name] else { return [] }
            return childNodes(key: name, value: value, extensionValue: nil)
        }
        guard let typeDefinition = FHIRSchema.r4.type(type) ?? FHIRSchema.r4.type(resourceTypeOfValue),
            let element = typeDefinition.elementsByName[name]
        else { return nil }
        guard case .object(let object)? = value else { return [] }
        if element.isChoice {
            for type in element.types {
                let key = name + type.prefix(1).uppercased() + type.dropFirst()
                let found = object[key], ext = object["_" + key]
                if found != nil || ext != nil { return childNodes(key: key, value: found, extensionValue: ext) }
            }
            return []
        }
        let found = object[name], ext = object["_" + name]
        if found == nil && ext == nil { return [] }
        return childNodes(key: name, value: found, extensionValue: ext)
    }

    private var resourceTypeOfValue: String { value?["resourceType"]?.stringValue ?? "" }

    func childNodes(key: String, value: JSON?, extensionValue: JSON?) -> [FHIRNode] {
        let schema = FHIRSchema.r4
        let member = schema.type(type)?.jsonMembers[key] ?? (isPrimitive ? schema.type("Element")?.jsonMembers[key] : nil)
        let elementName = member?.element.name ?? key
        let declared = member?.type ?? ""
        func make(_ item: JSON?, _ ext: JSON?, _ index: Int?) -> FHIRNode? {
            if item == nil && ext == nil { return nil }
            if case .null? = item, ext == nil || ext == .null { return nil }
            let item = item == .null ? nil : item
            let concrete = (declared == "Resource" || declared.isEmpty) ? (item?["resourceType"]?.stringValue ?? declared) : declared
            let suffix = index.map { "[\($0)]" } ?? ""
            return FHIRNode(
                value: item, primitiveExtension: ext == .null ? nil : ext, type: concrete, element: member?.element,
                name: elementName, location: location + "." + elementName + suffix)
        }
        if case .array(let items)? = value {
            let extensions = extensionValue?.arrayValue
            return items.indices.compactMap { make(items[$0], extensions?[safe: $0], $0) }
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
