import JSONCore

/// Checks a resource against the R4 base StructureDefinitions (R4 §Validation):
/// structure (known elements, arrays where the definition repeats, JSON
/// kinds and lexical forms of primitives, one type of a choice), then
/// cardinalities, required bindings to the value sets Socle carries, and the
/// invariants (`constraint` FHIRPath expressions) of every element.
public struct FHIRValidator {
    public enum Level: Sendable { case structure, full }

    let schema = FHIRSchema.r4
    let level: Level
    let resource: FHIRNode
    var issues: [FHIRIssue] = []

    /// Every issue found in `json`, a resource.
    public static func validate(_ json: JSON, level: Level = .full) -> [FHIRIssue] {
        validate(json, level: level, collectingFailures: false).issues
    }

    /// The same, every invariant evaluated as FHIRPath, ele-1 and ext-1
    /// included (which `validate` checks by Swift rules): what those rules are tested against.
    public static func validateByFHIRPathOnly(_ json: JSON) -> [FHIRIssue] {
        validate(json, level: .full, collectingFailures: false, swiftRules: false).issues
    }

    static func validate(_ json: JSON, level: Level, collectingFailures: Bool, swiftRules: Bool = true)
        -> (issues: [FHIRIssue], failures: [(key: String, error: String)])
    {
        guard case .object(let object) = json else {
            return ([FHIRIssue(code: "structure", location: "(root)", message: "a resource is a JSON object, found \(json.kindName)")], [])
        }
        guard let type = object["resourceType"]?.stringValue else {
            return ([FHIRIssue(code: "structure", location: "(root)", message: "resourceType is missing")], [])
        }
        guard let definition = FHIRSchema.r4.type(type), definition.kind == .resource, !definition.isAbstract else {
            return ([FHIRIssue(code: "structure", location: type, message: "'\(type)' is not a resource type of FHIR R4")], [])
        }
        var validator = FHIRValidator(level: level, resource: FHIRNode(resource: json))
        validator.collectFailures = collectingFailures
        validator.swiftRules = swiftRules
        validator.path = [.name(type)]
        validator.walk(object, type: type, element: nil, isResource: true)
        return (validator.issues, validator.failures)
    }

    /// Where the walk is: element names and array indexes from the root,
    /// turned into a FHIRPath location only when an issue is reported.
    enum Step { case name(String), index(Int) }
    var path: [Step] = []

    var location: String {
        var text = ""
        for step in path {
            switch step {
            case .name(let name): text += text.isEmpty ? name : "." + name
            case .index(let index): text += "[\(index)]"
            }
        }
        return text
    }

    mutating func issue(_ code: String, _ message: String, at suffix: String? = nil, _ severity: FHIRIssue.Severity = .error) {
        let here = location
        issues.append(FHIRIssue(severity, code: code, location: suffix.map { here + "." + $0 } ?? here, message: message))
    }

    mutating func walk(_ object: JSONObject, type: String, element: ElementDefinition?, isResource: Bool) {
        guard let definition = schema.type(type) else { return }
        // Counted only for the full level's cardinalities.
        var counts: [String: Int] = [:]
        var choiceSeen: [String: String]?
        for member in object.members {
            let key = member.key
            if key == "resourceType" && (isResource || definition.jsonMembers[key] == nil) {
                if !isResource { issue("structure", "resourceType appears outside a resource") }
                continue
            }
            if key.utf8.first == UInt8(ascii: "_") {
                let base = String(key.dropFirst())
                guard let target = definition.jsonMembers[base], target.isPrimitive else {
                    issue("structure", "'\(key)' does not extend a primitive element of \(type)", at: key)
                    continue
                }
                if level == .full, object[base] == nil { counts[target.element.name, default: 0] += count(member.value) }
                path.append(.name(base))
                walkPrimitiveExtension(member.value, isArray: target.element.isArray)
                path.removeLast()
                continue
            }
            guard let target = definition.jsonMembers[key] else {
                issue("structure", "unknown element '\(key)' in \(type)", at: key)
                continue
            }
            let elementDefinition = target.element
            if elementDefinition.isChoice {
                if let other = choiceSeen?[elementDefinition.name], other != key {
                    issue("structure", "\(elementDefinition.name)[x] is given twice, as \(other) and \(key)", at: key)
                }
                choiceSeen = choiceSeen ?? [:]
                choiceSeen?[elementDefinition.name] = key
            }
            let extensions: JSON? = target.isPrimitive ? object[elementDefinition.isChoice ? "_" + key : elementDefinition.extensionKey] : nil
            path.append(.name(elementDefinition.name))
            defer { path.removeLast() }
            if elementDefinition.isArray {
                guard case .array(let items) = member.value else {
                    issue("structure", "\(key) repeats (0..*): an array is expected, found \(member.value.kindName)")
                    continue
                }
                if items.isEmpty { issue("structure", "an array may not be empty") }
                if level == .full { counts[elementDefinition.name, default: 0] += items.count }
                for (index, item) in items.enumerated() {
                    path.append(.index(index))
                    walkValue(item, type: target.type, element: elementDefinition,
                              extensionPresent: extensions?.arrayValue?[safe: index].map { $0 != .null } ?? false, isPrimitive: target.isPrimitive)
                    path.removeLast()
                }
            } else {
                if case .array = member.value {
                    issue("structure", "\(key) is single (max 1): an array is not allowed")
                    continue
                }
                if level == .full { counts[elementDefinition.name, default: 0] += 1 }
                walkValue(member.value, type: target.type, element: elementDefinition, extensionPresent: extensions != nil, isPrimitive: target.isPrimitive)
            }
        }
        guard level == .full else { return }
        for elementDefinition in definition.elements {
            let present = counts[elementDefinition.name] ?? 0
            if present < elementDefinition.min {
                issue("required", "\(elementDefinition.name) is required (min \(elementDefinition.min)) in \(type)", at: elementDefinition.name)
            }
        }
        let here = location
        let node = FHIRNode(value: .object(object), type: type, element: element, name: here, location: here)
        check(invariants: definition.constraints, on: node)
    }

    func count(_ value: JSON) -> Int { value.arrayValue?.count ?? 1 }

    mutating func walkValue(_ value: JSON, type: String, element: ElementDefinition, extensionPresent: Bool, isPrimitive: Bool) {
        if isPrimitive {
            if value == .null {
                if !extensionPresent { issue("structure", "null is allowed only where the _ element holds the extensions") }
                return
            }
            if let problem = PrimitiveFormat.problem(value, type: type.hasPrefix("System.") ? "string" : type) {
                issue("value", problem)
                return
            }
            if level == .full {
                checkBinding(value, type: type, element: element)
                let here = location
                let node = FHIRNode(value: value, type: type, element: element, name: element.name, location: here)
                check(invariants: element.constraints.filter { $0.key != "ele-1" }, on: node)
            }
            return
        }
        guard case .object(let object) = value else {
            issue("structure", "\(type) is a JSON object, found \(value.kindName)")
            return
        }
        if type == "Resource" {
            guard let resourceType = object["resourceType"]?.stringValue, let definition = schema.type(resourceType),
                definition.kind == .resource, !definition.isAbstract
            else {
                issue("structure", "a resource with a known resourceType is expected")
                return
            }
            walk(object, type: resourceType, element: element, isResource: true)
            return
        }
        if object.isEmpty { issue("structure", "an element may not be empty") }
        walk(object, type: type, element: element, isResource: false)
        if level == .full {
            checkBinding(value, type: type, element: element)
            let here = location
            let node = FHIRNode(value: value, type: type, element: element, name: element.name, location: here)
            // The type's own invariants (ext-1 of an Extension) were checked by `walk`: once is enough.
            let checked = schema.type(type)?.constraints.map(\.key) ?? []
            check(invariants: element.constraints.filter { $0.key != "ele-1" && !checked.contains($0.key) }, on: node)
        }
    }

    mutating func walkPrimitiveExtension(_ value: JSON, isArray: Bool) {
        let items: [JSON] = isArray ? (value.arrayValue ?? [value]) : [value]
        for (index, item) in items.enumerated() where item != .null {
            if isArray { path.append(.index(index)) }
            defer { if isArray { path.removeLast() } }
            guard case .object(let object) = item else {
                issue("structure", "the _ element of a primitive is an object with id and extension")
                continue
            }
            walk(object, type: "Element", element: nil, isResource: false)
        }
    }

    /// Required bindings (R4 §Terminology binding strength: required): the
    /// code must come from the value set, when Socle carries its expansion.
    mutating func checkBinding(_ value: JSON, type: String, element: ElementDefinition) {
        guard element.bindingStrength == "required",
            let codes = schema.valueSets[String(element.valueSet.split(separator: "|").first ?? "")]
        else { return }
        switch type {
        case "code":
            guard let code = value.stringValue else { return }
            if !codes.contains(where: { $0.hasSuffix("|" + code) }) {
                issue("code-invalid", "'\(code)' is not in the value set \(element.valueSet) (required binding)")
            }
        case "Coding":
            guard let code = value["code"]?.stringValue else { return }
            let system = value["system"]?.stringValue ?? ""
            if !codes.contains(system + "|" + code) {
                issue("code-invalid", "\(system)|\(code) is not in the value set \(element.valueSet) (required binding)")
            }
        case "CodeableConcept":
            let codings = value["coding"]?.arrayValue ?? []
            guard !codings.isEmpty else { return }
            let found = codings.contains { coding in
                codes.contains((coding["system"]?.stringValue ?? "") + "|" + (coding["code"]?.stringValue ?? ""))
            }
            if !found { issue("code-invalid", "no coding is in the value set \(element.valueSet) (required binding)") }
        default:
            return
        }
    }

    /// Invariants that could not be evaluated on a resource, with why (none
    /// on the corpus; an invariant that cannot be evaluated is not reported
    /// as broken).
    public static func evaluationFailures(_ json: JSON) -> [(key: String, error: String)] {
        validate(json, level: .full, collectingFailures: true).failures
    }

    var collectFailures = false
    var swiftRules = true
    var failures: [(key: String, error: String)] = []

    mutating func check(invariants: [Invariant], on node: FHIRNode) {
        for invariant in invariants where !invariant.expression.isEmpty {
            if swiftRules, let decided = invariant.native?(node.value ?? .null) {
                if !decided {
                    issues.append(FHIRIssue(invariant.severity == "error" ? .error : .warning, code: "invariant", location: node.location,
                                            message: "\(invariant.key): \(invariant.human)"))
                }
                continue
            }
            guard let expression = invariant.parsed else {
                if collectFailures { failures.append((invariant.key, invariant.parseError ?? "unparsed")) }
                continue
            }
            var context = FHIRPathContext(resource: resource)
            context.variables["context"] = [.node(node)]
            context.unknownElementsAreEmpty = true
            context.collectionAs = true
            let evaluator = FHIRPathEvaluator(context: context)
            let result: [FHIRPathValue]
            do {
                result = try evaluator.evaluate(expression, input: [.node(node)], frame: .init(this: .node(node)))
            } catch {
                if collectFailures { failures.append((invariant.key, "\(error) at \(node.location)")) }
                continue
            }
            if result.count == 1, case .boolean(false) = result[0].system {
                issues.append(FHIRIssue(invariant.severity == "error" ? .error : .warning, code: "invariant", location: node.location,
                                        message: "\(invariant.key): \(invariant.human)"))
            }
        }
    }
}
