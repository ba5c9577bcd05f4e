import JSONCore

/// Validates a resource against a loaded profile (R4 §Profiling): the
/// profile's cardinalities, types, fixed and pattern values, required
/// bindings and its own invariants, element by element; repeating elements
/// that are sliced are told apart by the slicing's value, pattern and type
/// discriminators, each slice's cardinality counted, and items no slice
/// claims refused where the slicing is closed. Extensions and data types
/// with a profile of their own are checked against it when it is loaded.
public struct ProfileValidator {
    let registry: ProfileRegistry
    let resource: JSON
    var issues: [FHIRIssue] = []

    /// Issues of `resource` against the base definitions and against every
    /// profile it claims in meta.profile that the registry holds (a claimed
    /// profile that is not loaded is a warning).
    public static func validate(_ resource: JSON, registry: ProfileRegistry) -> [FHIRIssue] {
        FHIRValidator.validate(resource) + validateClaimedProfiles(resource, registry: registry)
    }

    /// Issues of `resource` against the profiles it claims in meta.profile
    /// only (the base aside): a claimed profile that is not loaded is a warning.
    public static func validateClaimedProfiles(_ resource: JSON, registry: ProfileRegistry) -> [FHIRIssue] {
        var issues: [FHIRIssue] = []
        for claimed in resource["meta"]?["profile"]?.arrayValue?.compactMap(\.stringValue) ?? [] {
            if let profile = registry.profile(claimed) {
                issues += validate(resource, against: profile, registry: registry)
            } else {
                issues.append(FHIRIssue(.warning, code: "not-supported", location: resource["resourceType"]?.stringValue ?? "",
                                        message: "the profile \(claimed) is not loaded here: the resource was not checked against it"))
            }
        }
        return issues
    }

    /// Issues of `resource` against one profile only.
    public static func validate(_ resource: JSON, against profile: Profile, registry: ProfileRegistry) -> [FHIRIssue] {
        var validator = ProfileValidator(registry: registry, resource: resource)
        let type = resource["resourceType"]?.stringValue ?? ""
        guard type == profile.type else {
            return [FHIRIssue(code: "structure", location: type, message: "\(profile.url) profiles \(profile.type), not \(type)")]
        }
        validator.check(resource, type: type, against: profile.root, location: type)
        return validator.issues
    }

    mutating func issue(_ code: String, _ location: String, _ message: String, _ severity: FHIRIssue.Severity = .error) {
        issues.append(FHIRIssue(severity, code: code, location: location, message: message))
    }

    /// One instance of an element (an object or a primitive) against the
    /// profile's definition of it and everything below.
    mutating func check(_ value: JSON, type: String, against element: ProfileElement, location: String) {
        if let (expected, exact) = element.fixedOrPattern, !(exact ? value == expected : Self.contains(value, expected)) {
            issue("value", location, "\(exact ? "the fixed value" : "the pattern") \(JSONSerializer.string(expected)) of \(element.id) is not met")
        }
        checkBinding(value, type: type, element: element, location: location)
        checkInvariants(value, type: type, element: element, location: location)
        for profileURL in element.typeProfiles where type != "Extension" {
            if let profile = registry.profile(profileURL), profile.root !== element {
                check(value, type: type, against: profile.root, location: location)
            }
        }
        guard case .object(let object) = value else { return }
        for child in element.children {
            let items = Self.items(named: child, in: object)
            checkChild(child, items: items, location: location)
        }
    }

    /// The values of an element in an object; for a choice, each with the
    /// type its JSON name gives (`valueQuantity` → Quantity).
    static func items(named element: ProfileElement, in object: JSONObject) -> [(value: JSON, type: String, location: String)] {
        let name = element.baseName
        var found: [(JSON, String, String)] = []
        for member in object.members {
            let type: String
            if element.isChoice {
                guard member.key.hasPrefix(name), member.key.count > name.count,
                    member.key.dropFirst(name.count).first?.isUppercase == true
                else { continue }
                let suffix = String(member.key.dropFirst(name.count))
                let lowered = suffix.prefix(1).lowercased() + suffix.dropFirst()
                type = FHIRSchema.r4.primitiveTypes.contains(lowered) ? lowered : suffix
            } else {
                guard member.key == name else { continue }
                type = element.typeCodes.first ?? ""
            }
            if case .array(let values) = member.value {
                for (index, item) in values.enumerated() { found.append((item, type, ".\(name)[\(index)]")) }
            } else {
                found.append((member.value, type, "." + name))
            }
        }
        return found
    }

    mutating func checkChild(_ child: ProfileElement, items: [(value: JSON, type: String, location: String)], location: String) {
        let path = location + "." + child.name
        if items.count < child.min {
            issue("required", path, "\(child.id) needs at least \(child.min), found \(items.count)")
        }
        if let max = child.max, items.count > max {
            issue("structure", path, "\(child.id) allows at most \(max), found \(items.count)")
        }
        let allowed = Set(child.typeCodes)
        var claimed = Array(repeating: false, count: items.count)
        if !child.slices.isEmpty {
            for slice in child.slices {
                var count = 0
                for (index, item) in items.enumerated() where matches(item.value, item.type, slice: slice, of: child) {
                    claimed[index] = true
                    count += 1
                    check(item.value, type: item.type, against: slice, location: location + item.location)
                    checkExtensionProfile(item.value, slice: slice, location: location + item.location)
                }
                if count < slice.min {
                    issue("required", path, "slice \(slice.sliceName ?? "?") of \(child.id) needs at least \(slice.min), found \(count)")
                }
                if let max = slice.max, count > max {
                    issue("structure", path, "slice \(slice.sliceName ?? "?") of \(child.id) allows at most \(max), found \(count)")
                }
            }
            if child.definition["slicing"]?["rules"]?.stringValue == "closed" {
                for (index, item) in items.enumerated() where !claimed[index] {
                    issue("structure", location + item.location, "no slice of \(child.id) matches this item and the slicing is closed")
                }
            }
        }
        for (index, item) in items.enumerated() {
            if !allowed.isEmpty, !item.type.isEmpty, !allowed.contains(item.type),
                !allowed.contains(where: { FHIRSchema.r4.isType(item.type, a: $0) })
            {
                issue("structure", location + item.location, "\(item.type) is not a type \(child.id) allows (\(allowed.sorted().joined(separator: ", ")))")
            }
            if !claimed[index] { check(item.value, type: item.type, against: child, location: location + item.location) }
        }
    }

    /// An extension slice names the extension's definition: check the
    /// extension against it when it is loaded.
    mutating func checkExtensionProfile(_ value: JSON, slice: ProfileElement, location: String) {
        guard slice.typeCodes == ["Extension"] else { return }
        for url in slice.typeProfiles {
            if let definition = registry.profile(url) {
                check(value, type: "Extension", against: definition.root, location: location)
            }
        }
    }

    /// Whether an item belongs to a slice (R4 §Slicing discriminators
    /// value, pattern and type; exists and profile discriminators are not
    /// used by the loaded guides and match nothing).
    func matches(_ value: JSON, _ type: String, slice: ProfileElement, of sliced: ProfileElement) -> Bool {
        let discriminators = sliced.definition["slicing"]?["discriminator"]?.arrayValue ?? []
        if discriminators.isEmpty { return false }
        for discriminator in discriminators {
            let path = discriminator["path"]?.stringValue ?? "$this"
            switch discriminator["type"]?.stringValue {
            case "value", "pattern":
                guard let expected = Self.expectedValue(at: path, in: slice) else { return false }
                let actual = Self.values(at: path, in: value)
                if !actual.contains(where: { expected.exact ? $0 == expected.value : Self.contains($0, expected.value) }) { return false }
            case "type":
                guard path == "$this", !slice.typeCodes.isEmpty, slice.typeCodes.contains(type) else { return false }
            default:
                return false
            }
        }
        return true
    }

    /// The fixed or pattern value a slice sets at a discriminator path:
    /// on the element the path reaches (through the slices of the elements
    /// on the way, as `code.coding:SBPCode.code`), inside a pattern set on
    /// an element above it, or for `url` the profile of an extension slice.
    static func expectedValue(at path: String, in slice: ProfileElement) -> (value: JSON, exact: Bool)? {
        if path == "$this" { return slice.fixedOrPattern }
        let steps = path.split(separator: ".").map(String.init)
        if let found = expectedValue(steps[...], below: slice) { return found }
        if path == "url", slice.typeCodes == ["Extension"], let url = slice.typeProfiles.first {
            // The instance names the extension without the profile's version (`url|2.2.0`).
            return (.string(String(url.split(separator: "|").first ?? "")), true)
        }
        return nil
    }

    static func expectedValue(_ steps: ArraySlice<String>, below element: ProfileElement) -> (value: JSON, exact: Bool)? {
        guard let step = steps.first else { return element.fixedOrPattern }
        if let (value, exact) = element.fixedOrPattern {
            // A pattern above the path holds the value the path reaches.
            let inner = values(at: steps.joined(separator: "."), in: value)
            if inner.count == 1 { return (inner[0], exact) }
        }
        guard let child = element.child(step) else { return nil }
        for candidate in [child] + child.slices {
            if let found = expectedValue(steps.dropFirst(), below: candidate) { return found }
        }
        return nil
    }

    /// The values at a dotted path below an item, arrays flattened.
    static func values(at path: String, in value: JSON) -> [JSON] {
        if path == "$this" { return [value] }
        var current = [value]
        for step in path.split(separator: ".") {
            current = current.flatMap { item -> [JSON] in
                switch item[String(step)] {
                case .array(let items)?: items
                case let found?: [found]
                case nil: []
                }
            }
        }
        return current
    }

    /// Pattern matching (R4 §ElementDefinition.pattern[x]): every element of
    /// the pattern is in the value; each item of a pattern array matches
    /// some item of the value's array.
    static func contains(_ value: JSON, _ pattern: JSON) -> Bool {
        switch (value, pattern) {
        case (.object(let v), .object(let p)):
            return p.members.allSatisfy { member in v[member.key].map { contains($0, member.value) } ?? false }
        case (.array(let v), .array(let p)):
            return p.allSatisfy { item in v.contains { contains($0, item) } }
        case (.array(let v), _):
            return v.contains { contains($0, pattern) }
        default:
            return value == pattern
        }
    }

    mutating func checkBinding(_ value: JSON, type: String, element: ProfileElement, location: String) {
        guard element.definition["binding"]?["strength"]?.stringValue == "required",
            let valueSet = element.definition["binding"]?["valueSet"]?.stringValue, let codes = registry.codes(of: valueSet)
        else { return }
        let candidates: [String]
        switch type {
        case "Coding": candidates = [(value["system"]?.stringValue ?? "") + "|" + (value["code"]?.stringValue ?? "")]
        case "CodeableConcept":
            candidates = (value["coding"]?.arrayValue ?? []).map { ($0["system"]?.stringValue ?? "") + "|" + ($0["code"]?.stringValue ?? "") }
            if candidates.isEmpty { return }
        default:
            guard let code = value.stringValue else { return }
            if !codes.contains(where: { $0.hasSuffix("|" + code) }) {
                issue("code-invalid", location, "'\(code)' is not in \(valueSet) (required by \(element.id))")
            }
            return
        }
        if !candidates.contains(where: codes.contains) {
            issue("code-invalid", location, "\(candidates.joined(separator: ", ")) is not in \(valueSet) (required by \(element.id))")
        }
    }

    /// The invariants a profile adds (those whose source is not the R4 base).
    mutating func checkInvariants(_ value: JSON, type: String, element: ProfileElement, location: String) {
        for constraint in element.definition["constraint"]?.arrayValue ?? [] {
            let source = constraint["source"]?.stringValue ?? ""
            guard !source.hasPrefix("http://hl7.org/fhir/StructureDefinition/"),
                let key = constraint["key"]?.stringValue, let text = constraint["expression"]?.stringValue,
                let expression = try? FHIRPathCache.shared.parse(text)
            else { continue }
            let node = FHIRNode(value: value, type: type, element: nil, name: element.name, location: location)
            var context = FHIRPathContext(resource: FHIRNode(resource: resource))
            context.variables["context"] = [.node(node)]
            context.unknownElementsAreEmpty = true
            context.collectionAs = true
            guard let result = try? FHIRPathEvaluator(context: context).evaluate(expression, input: [.node(node)], frame: .init(this: .node(node)))
            else {
                issue("invariant", location, "\(key) could not be evaluated", .warning)
                continue
            }
            if result.count == 1, case .boolean(false) = result[0].system {
                let severity: FHIRIssue.Severity = constraint["severity"]?.stringValue == "error" ? .error : .warning
                issue("invariant", location, "\(key): \(constraint["human"]?.stringValue ?? "")", severity)
            }
        }
    }
}
