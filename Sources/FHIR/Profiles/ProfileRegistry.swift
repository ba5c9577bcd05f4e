import JSONCore

/// Conformance resources loaded beside the R4 base: profiles and extension
/// definitions (StructureDefinitions with a snapshot), and the value sets
/// and code systems their bindings name (an implementation guide's package,
/// such as FR Core). Pure: the caller reads the files.
public final class ProfileRegistry: @unchecked Sendable {
    public internal(set) var profiles: [String: Profile] = [:]
    var codeSystems: [String: JSON] = [:]
    var valueSets: [String: JSON] = [:]

    public struct LoadError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    public init() {}

    /// Loads a StructureDefinition, ValueSet or CodeSystem; other resources
    /// (ImplementationGuide, examples) are not conformance resources and are refused.
    public func load(_ resource: JSON) throws(LoadError) {
        guard let url = resource["url"]?.stringValue else { throw LoadError(message: "a conformance resource has a url") }
        switch resource["resourceType"]?.stringValue {
        case "StructureDefinition":
            guard let elements = resource["snapshot"]?["element"]?.arrayValue, !elements.isEmpty else {
                throw LoadError(message: "\(url): only StructureDefinitions with a snapshot are loaded")
            }
            profiles[url] = try Profile(url: url, type: resource["type"]?.stringValue ?? "", elements: elements)
        case "ValueSet": valueSets[url] = resource
        case "CodeSystem": codeSystems[url] = resource
        default: throw LoadError(message: "\(url): a \(resource["resourceType"]?.stringValue ?? "?") is not loaded as a conformance resource")
        }
    }

    public func profile(_ canonical: String) -> Profile? {
        profiles[canonical] ?? profiles[String(canonical.split(separator: "|").first ?? "")]
    }

    /// The codes of a held code system under `code` (`below`) or over it,
    /// `code` itself included, by the nesting of its concepts; nil when the
    /// code system is not held or has no such code.
    public func codes(related code: String, in system: String, below: Bool) -> Set<String>? {
        guard let concepts = codeSystems[system]?["concept"]?.arrayValue else { return nil }
        // Each concept with the path of codes from the top to it.
        var stack: [(JSON, [String])] = concepts.map { ($0, []) }
        while let (concept, ancestors) = stack.popLast() {
            guard let current = concept["code"]?.stringValue else { continue }
            let children = concept["concept"]?.arrayValue ?? []
            guard current == code else {
                stack += children.map { ($0, ancestors + [current]) }
                continue
            }
            guard below else { return Set(ancestors + [current]) }
            var found: Set<String> = [current]
            var descendants = children
            while let child = descendants.popLast() {
                if let childCode = child["code"]?.stringValue { found.insert(childCode) }
                descendants += child["concept"]?.arrayValue ?? []
            }
            return found
        }
        return nil
    }

    /// `system|code` of a value set, from the loaded code systems or the
    /// R4 expansions Socle carries; nil when it cannot be expanded here
    /// (external terminologies such as SNOMED CT or the ANS NOS tables).
    public func codes(of valueSet: String) -> Set<String>? {
        let url = String(valueSet.split(separator: "|").first ?? "")
        if let base = FHIRSchema.r4.valueSets[url] { return base }
        guard let definition = valueSets[url], let includes = definition["compose"]?["include"]?.arrayValue else { return nil }
        var result: Set<String> = []
        for include in includes {
            guard let system = include["system"]?.stringValue else { return nil }
            if let concepts = include["concept"]?.arrayValue {
                for concept in concepts { if let code = concept["code"]?.stringValue { result.insert(system + "|" + code) } }
                continue
            }
            guard include["filter"] == nil, let codeSystem = codeSystems[system], let concepts = codeSystem["concept"]?.arrayValue else { return nil }
            var stack = concepts
            while let concept = stack.popLast() {
                if let code = concept["code"]?.stringValue { result.insert(system + "|" + code) }
                stack += concept["concept"]?.arrayValue ?? []
            }
        }
        for exclude in definition["compose"]?["exclude"]?.arrayValue ?? [] {
            let system = exclude["system"]?.stringValue ?? ""
            for concept in exclude["concept"]?.arrayValue ?? [] { result.remove(system + "|" + (concept["code"]?.stringValue ?? "")) }
        }
        return result
    }
}

/// A profile's snapshot as a tree: each element with its children and the
/// slices defined on it.
public final class Profile: @unchecked Sendable {
    public let url: String
    public let type: String
    let root: ProfileElement

    init(url: String, type: String, elements: [JSON]) throws(ProfileRegistry.LoadError) {
        self.url = url
        self.type = type
        var byID: [String: ProfileElement] = [:]
        var root: ProfileElement?
        for json in elements {
            guard let id = json["id"]?.stringValue, let path = json["path"]?.stringValue else {
                throw ProfileRegistry.LoadError(message: "\(url): an element without id or path")
            }
            let element = ProfileElement(id: id, path: path, definition: json)
            byID[id] = element
            guard let dot = id.lastIndex(of: ".") else {
                root = element
                continue
            }
            let parentID = String(id[..<dot])
            let last = id[id.index(after: dot)...]
            if let colon = last.firstIndex(of: ":") {
                let slicedID = parentID + "." + last[..<colon]
                guard let sliced = byID[slicedID] else { throw ProfileRegistry.LoadError(message: "\(url): slice \(id) before its element") }
                sliced.slices.append(element)
            } else {
                guard let parent = byID[parentID] else { throw ProfileRegistry.LoadError(message: "\(url): \(id) before its parent") }
                parent.children.append(element)
            }
        }
        guard let root else { throw ProfileRegistry.LoadError(message: "\(url): the snapshot has no root element") }
        self.root = root
    }
}

final class ProfileElement: @unchecked Sendable {
    let id: String
    let path: String
    let definition: JSON
    var children: [ProfileElement] = []
    var slices: [ProfileElement] = []

    init(id: String, path: String, definition: JSON) {
        self.id = id
        self.path = path
        self.definition = definition
    }

    /// The element's name in its parent (`value[x]`, `identifier`).
    var name: String { String(path.split(separator: ".").last ?? "") }
    var isChoice: Bool { name.hasSuffix("[x]") }
    var baseName: String { isChoice ? String(name.dropLast(3)) : name }
    var sliceName: String? { definition["sliceName"]?.stringValue }
    var min: Int { definition["min"]?.intValue ?? 0 }
    var max: Int? {
        guard let text = definition["max"]?.stringValue, text != "*" else { return nil }
        return Int(text)
    }
    var typeCodes: [String] { definition["type"]?.arrayValue?.compactMap { $0["code"]?.stringValue } ?? [] }
    var typeProfiles: [String] { definition["type"]?.arrayValue?.flatMap { $0["profile"]?.arrayValue?.compactMap(\.stringValue) ?? [] } ?? [] }

    /// `fixed[x]` or `pattern[x]`: the value and whether it must be equal
    /// (fixed) or only contained (pattern).
    var fixedOrPattern: (value: JSON, exact: Bool)? {
        for member in definition.objectValue?.members ?? [] {
            if member.key.hasPrefix("fixed") { return (member.value, true) }
            if member.key.hasPrefix("pattern") { return (member.value, false) }
        }
        return nil
    }

    func child(_ name: String) -> ProfileElement? { children.first { $0.name == name || $0.baseName == name } }
}
