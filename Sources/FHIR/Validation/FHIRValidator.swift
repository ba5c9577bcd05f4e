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
        guard case .object(let object) = json else {
            return [FHIRIssue(code: "structure", location: "(root)", message: "a resource is a JSON object, found \(json.kindName)")]
        }
        guard let type = object["resourceType"]?.stringValue else {
            return [FHIRIssue(code: "structure", location: "(root)", message: "resourceType is missing")]
        }
        guard let definition = FHIRSchema.r4.type(type), definition.kind == .resource, !definition.isAbstract else {
            return [FHIRIssue(code: "structure", location: type, message: "'\(type)' is not a resource type of FHIR R4")]
        }
        var validator = FHIRValidator(level: level, resource: FHIRNode(resource: json))
        validator.walk(object, type: type, location: type, element: nil, isResource: true)
        return validator.issues
    }

    mutating func issue(_ code: String, _ location: String, _ message: String, _ severity: FHIRIssue.Severity = .error) {
        issues.append(FHIRIssue(severity, code: code, location: location, message: message))
    }

    mutating func walk(_ object: JSONObject, type: String, location: String, element: ElementDefinition?, isResource: Bool) {
        guard let definition = schema.type(type) else { return }
        var counts: [String: Int] = [:]
        var choiceSeen: [String: String] = [:]
        for member in object.members {
            let key = member.key
            if key == "resourceType" && (isResource || definition.jsonMembers[key] == nil) {
                if !isResource { issue("structure", location, "resourceType appears outside a resource") }
                continue
            }
            if key.hasPrefix("_") {
                let base = String(key.dropFirst())
                guard let target = definition.jsonMembers[base], isPrimitive(target.type) else {
                    issue("structure", location + "." + key, "'\(key)' does not extend a primitive element of \(type)")
                    continue
                }
                if object[base] == nil { counts[target.element.name, default: 0] += count(member.value) }
                walkPrimitiveExtension(member.value, location: location + "." + base, isArray: target.element.isArray)
                continue
            }
            guard let target = definition.jsonMembers[key] else {
                issue("structure", location + "." + key, "unknown element '\(key)' in \(isResource ? type : typeLabel(type))")
                continue
            }
            let elementDefinition = target.element
            if elementDefinition.isChoice {
                if let other = choiceSeen[elementDefinition.name], other != key {
                    issue("structure", location + "." + key, "\(elementDefinition.name)[x] is given twice, as \(other) and \(key)")
                }
                choiceSeen[elementDefinition.name] = key
            }
            let itemLocation = location + "." + elementDefinition.name
            let extensions = object["_" + key]
            if elementDefinition.isArray {
                guard case .array(let items) = member.value else {
                    issue("structure", itemLocation, "\(key) repeats (0..*): an array is expected, found \(member.value.kindName)")
                    continue
                }
                if items.isEmpty { issue("structure", itemLocation, "an array may not be empty") }
                counts[elementDefinition.name, default: 0] += items.count
                for (index, item) in items.enumerated() {
                    walkValue(item, type: target.type, location: "\(itemLocation)[\(index)]", element: elementDefinition,
                              extensionPresent: extensions?.arrayValue?[safe: index].map { $0 != .null } ?? false)
                }
            } else {
                if case .array = member.value {
                    issue("structure", itemLocation, "\(key) is single (max 1): an array is not allowed")
                    continue
                }
                counts[elementDefinition.name, default: 0] += 1
                walkValue(member.value, type: target.type, location: itemLocation, element: elementDefinition, extensionPresent: extensions != nil)
            }
        }
        guard level == .full else { return }
        for elementDefinition in definition.elements {
            let present = counts[elementDefinition.name] ?? 0
            if present < elementDefinition.min {
                issue("required", location + "." + elementDefinition.name,
                      "\(elementDefinition.name) is required (min \(elementDefinition.min)) in \(typeLabel(type))")
            }
        }
        let node = FHIRNode(value: .object(object), type: type, element: element, name: location, location: location)
        check(invariants: definition.constraints, on: node)
    }

    func typeLabel(_ type: String) -> String { type }

    func isPrimitive(_ type: String) -> Bool { schema.primitiveTypes.contains(type) || type.hasPrefix("System.") }

    func count(_ value: JSON) -> Int { value.arrayValue?.count ?? 1 }

    mutating func walkValue(_ value: JSON, type: String, location: String, element: ElementDefinition, extensionPresent: Bool) {
        if isPrimitive(type) {
            if value == .null {
                if !extensionPresent { issue("structure", location, "null is allowed only where the _ element holds the extensions") }
                return
            }
            let primitive = type.hasPrefix("System.") ? "string" : type
            if let problem = PrimitiveFormat.problem(value, type: primitive) {
                issue(type == "System.String" && value.stringValue != nil ? "value" : "value", location, problem)
                return
            }
            if level == .full {
                checkBinding(value, type: type, element: element, location: location)
                let node = FHIRNode(value: value, type: type, element: element, name: element.name, location: location)
                check(invariants: element.constraints.filter { $0.key != "ele-1" }, on: node)
            }
            return
        }
        guard case .object(let object) = value else {
            issue("structure", location, "\(type) is a JSON object, found \(value.kindName)")
            return
        }
        if type == "Resource" {
            guard let resourceType = object["resourceType"]?.stringValue, let definition = schema.type(resourceType),
                definition.kind == .resource, !definition.isAbstract
            else {
                issue("structure", location, "a resource with a known resourceType is expected")
                return
            }
            walk(object, type: resourceType, location: location, element: element, isResource: true)
            return
        }
        if object.isEmpty { issue("structure", location, "an element may not be empty") }
        walk(object, type: type, location: location, element: element, isResource: false)
        if level == .full {
            checkBinding(value, type: type, element: element, location: location)
            let node = FHIRNode(value: value, type: type, element: element, name: element.name, location: location)
            check(invariants: element.constraints.filter { $0.key != "ele-1" }, on: node)
        }
    }

    mutating func walkPrimitiveExtension(_ value: JSON, location: String, isArray: Bool) {
        let items: [JSON] = isArray ? (value.arrayValue ?? [value]) : [value]
        for (index, item) in items.enumerated() where item != .null {
            let itemLocation = isArray ? "\(location)[\(index)]" : location
            guard case .object(let object) = item else {
                issue("structure", itemLocation, "the _ element of a primitive is an object with id and extension")
                continue
            }
            walk(object, type: "Element", location: itemLocation, element: nil, isResource: false)
        }
    }

    /// Required bindings (R4 §Terminology binding strength: required): the
    /// code must come from the value set, when Socle carries its expansion.
    mutating func checkBinding(_ value: JSON, type: String, element: ElementDefinition, location: String) {
        guard element.bindingStrength == "required",
            let codes = schema.valueSets[String(element.valueSet.split(separator: "|").first ?? "")]
        else { return }
        switch type {
        case "code":
            guard let code = value.stringValue else { return }
            if !codes.contains(where: { $0.hasSuffix("|" + code) }) {
                issue("code-invalid", location, "'\(code)' is not in the value set \(element.valueSet) (required binding)")
            }
        case "Coding":
            guard let code = value["code"]?.stringValue else { return }
            let system = value["system"]?.stringValue ?? ""
            if !codes.contains(system + "|" + code) {
                issue("code-invalid", location, "\(system)|\(code) is not in the value set \(element.valueSet) (required binding)")
            }
        case "CodeableConcept":
            let codings = value["coding"]?.arrayValue ?? []
            guard !codings.isEmpty else { return }
            let found = codings.contains { coding in
                codes.contains((coding["system"]?.stringValue ?? "") + "|" + (coding["code"]?.stringValue ?? ""))
            }
            if !found { issue("code-invalid", location, "no coding is in the value set \(element.valueSet) (required binding)") }
        default:
            return
        }
    }

    mutating func check(invariants: [Invariant], on node: FHIRNode) {
        for invariant in invariants where !invariant.expression.isEmpty {
            guard let expression = try? FHIRPathCache.shared.parse(invariant.expression) else { continue }
            var context = FHIRPathContext(resource: resource)
            context.variables["context"] = [.node(node)]
            let evaluator = FHIRPathEvaluator(context: context)
            guard let result = try? evaluator.evaluate(expression, input: [.node(node)], frame: .init(this: .node(node))) else { continue }
            if result.count == 1, case .boolean(false) = result[0].system {
                issue("invariant", node.location, "\(invariant.key): \(invariant.human)", invariant.severity == "error" ? .error : .warning)
            }
        }
    }
}
