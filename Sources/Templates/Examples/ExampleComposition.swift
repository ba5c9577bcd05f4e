import Foundation
import JSONCore
import OpenEHR

/// An example composition of a template (ITS-REST 1.0.3 §Template:
/// `GET …/example`; 1.1 adds its `detail_level`): every mandatory node
/// present (occurrences, existence, cardinality, and the RM's own mandatory
/// attributes), each leaf given a value its constraint admits (the first
/// code of a list, a magnitude inside the range at the allowed precision,
/// the first ordinal, …). It passes Socle's validation at every level.
public struct ExampleComposition {
    /// How much of the template an example shows (ITS-REST 1.1 `detail_level`).
    public enum DetailLevel: String, Sendable, CaseIterable {
        /// The mandatory nodes only: the smallest composition the template allows.
        case required
        /// Every node the template defines, the optional ones once each.
        case medium
        /// Every node, and the repeatable ones twice, so that the example
        /// shows their repetition (FLAT indexes `:0` and `:1`).
        case complete
    }

    let template: OperationalTemplate
    let time: String
    var detail: DetailLevel = .required
    let terminology = OpenEHRTerminology.shared
    let schema = RMSchema.rm110

    /// Generates the example; `time` stamps every date-time in it.
    public static func generate(_ template: OperationalTemplate, detail: DetailLevel = .required, time: Date = Date()) -> JSON {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        let generator = ExampleComposition(template: template, time: formatter.string(from: time), detail: detail)
        var root = generator.object(template.definition, terms: template.definition.terms, depth: 0) ?? .object(JSONObject())
        if case .object(var object) = root {
            var details = object["archetype_details"]?.objectValue ?? JSONObject()
            details["template_id"] = ["value": .string(template.templateID)]
            object["archetype_details"] = .object(details)
            root = .object(object)
        }
        return root
    }

    /// An RM object for a constraint; nil where nothing can be made (an
    /// archetype slot, whose archetypes the template leaves open).
    func object(_ constraint: CObject, terms: [String: ArchetypeTerm], depth: Int) -> JSON? {
        guard depth < 64 else { return nil }
        let terms = constraint.terms.isEmpty ? terms : constraint.terms
        switch constraint.kind {
        case .slot: return nil
        case .internalReference(let path):
            guard let target = template.definition.internalReference(path) else { return rmDefault(concrete(constraint.rmTypeName), depth: depth) }
            var copy = target
            copy.nodeID = constraint.nodeID.isEmpty ? target.nodeID : constraint.nodeID
            return object(copy, terms: terms, depth: depth + 1)
        case .primitive(let primitive): return Self.primitive(primitive, time: time)
        case .codePhrase(let terminologyID, let codes): return codePhrase(terminologyID, codes)
        case .quantity(_, let items): return quantity(items.first)
        case .ordinal(let items):
            guard let item = items.first else { return rmDefault("DV_ORDINAL", depth: depth) }
            return [
                "_type": "DV_ORDINAL", "value": JSON(item.value),
                "symbol": codedText(item.code, terminologyID: item.terminology, terms: terms),
            ]
        case .constraintReference(let reference):
            // A value set the template names by terminology (`terminology:SNOMED-CT`) gets a code of that terminology.
            let uri = constraint.referenceSetURI ?? ""
            let terminologyID = uri.hasPrefix("terminology:") ? String(uri.dropFirst("terminology:".count).prefix { $0 != "?" }) : "local"
            return [
                "_type": "CODE_PHRASE", "terminology_id": ["_type": "TERMINOLOGY_ID", "value": .string(terminologyID)],
                "code_string": .string(reference.isEmpty ? "example" : reference),
            ]
        case .complex, .archetypeRoot:
            return complex(constraint, terms: terms, depth: depth)
        }
    }

    func complex(_ constraint: CObject, terms: [String: ArchetypeTerm], depth: Int) -> JSON {
        let (type, written) = RMTypeName.split(constraint.rmTypeName)
        let generic = constraint.genericParameter ?? written
        let concreteType = concrete(type)
        var object = JSONObject()
        object["_type"] = .string(concreteType)
        let rmClass = schema[concreteType]
        if rmClass?.attributes["archetype_node_id"] != nil {
            object["name"] = name(constraint, terms: terms, depth: depth)
            object["archetype_node_id"] = .string(constraint.archetypeID ?? (constraint.nodeID.isEmpty ? "at0000" : constraint.nodeID))
            if let archetypeID = constraint.archetypeID {
                object["archetype_details"] = ["archetype_id": ["value": .string(archetypeID)], "rm_version": "1.1.0"]
            }
        }
        for attribute in constraint.attributes where attribute.name != "name" {
            guard rmClass == nil || rmClass?.attributes[attribute.name] != nil, attribute.existence.upper != 0 else { continue }
            if let value = self.attribute(attribute, owner: concreteType, terms: terms, depth: depth) { object[attribute.name] = value }
        }
        fillRequired(&object, type: concreteType, generic: generic, depth: depth)
        // A coded text whose text the template leaves open reads as its code's rubric (`433` is `event`).
        if concreteType == "DV_CODED_TEXT", constraint.attribute("value") == nil, let code = object["defining_code"]?["code_string"]?.stringValue,
            let terminologyID = object["defining_code"]?["terminology_id"]?["value"]?.stringValue
        {
            object["value"] = .string(rubric(code, terminologyID: terminologyID, terms: terms))
        }
        satisfyInvariants(&object, type: concreteType)
        return .object(object)
    }

    /// The values of a constrained attribute, or nil when it may be absent.
    func attribute(_ attribute: CAttribute, owner: String, terms: [String: ArchetypeTerm], depth: Int) -> JSON? {
        let rmAttribute = schema[owner]?.attributes[attribute.name]
        let requiredByRM = schema[owner]?.required.contains(attribute.name) ?? false
        // An ELEMENT carries a value (the RM wants a value or a null flavour; a form shows the value).
        let needed = (attribute.existence.lower ?? 0) >= 1 || requiredByRM || (attribute.cardinality?.lower ?? 0) >= 1
            || attribute.children.contains { ($0.occurrences.lower ?? 0) >= 1 } || (owner == "ELEMENT" && attribute.name == "value")
        guard needed || (detail != .required && depth < Self.optionalDepth) else { return nil }
        let fillable = attribute.children.filter { if case .slot = $0.kind { return false } else { return true } }
        if attribute.isMultiple || rmAttribute?.isList == true {
            var items: [JSON] = []
            var shown: Set<String> = []
            for child in fillable {
                // An optional alternative of a node already shown (same node id, another name) is left out:
                // its instance could be taken for the other's.
                let key = child.archetypeID ?? child.nodeID
                let minimum = max(child.occurrences.lower ?? 0, 0)
                let instances = shown.contains(key) ? minimum : count(of: child, in: attribute, depth: depth)
                for _ in 0..<instances {
                    if let item = object(child, terms: terms, depth: depth + 1) { items.append(item) }
                }
                if instances > 0 { shown.insert(key) }
            }
            let minimum = max(attribute.cardinality?.lower ?? 0, (attribute.existence.lower ?? 0) >= 1 || requiredByRM ? 1 : 0, rmAttribute?.minimumItems ?? 0)
            var index = 0
            while items.count < minimum, !fillable.isEmpty, index < minimum * 2 {
                if let item = object(fillable[index % fillable.count], terms: terms, depth: depth + 1) { items.append(item) }
                index += 1
            }
            // A template whose required children exceed the attribute's cardinality keeps the first ones.
            if let upper = attribute.cardinality?.upper, items.count > upper { items = Array(items.prefix(upper)) }
            return items.isEmpty ? nil : .array(items)
        }
        for child in fillable {
            if let value = object(child, terms: terms, depth: depth + 1) { return value }
        }
        return nil
    }

    /// Optional nodes are shown down to this depth (recursive templates,
    /// through internal references, would otherwise never end).
    static let optionalDepth = 40

    /// How many instances of a child of a multiple attribute the example
    /// holds: its minimum occurrences; at least one beyond `required` when
    /// the template gives it content (`isFillable`); two of a repeatable
    /// node at `complete`.
    func count(of child: CObject, in attribute: CAttribute, depth: Int) -> Int {
        let minimum = max(child.occurrences.lower ?? 0, 0)
        if detail == .required || !isFillable(child, depth: depth) { return minimum }
        let upper = child.occurrences.upper ?? Int.max
        let wanted = detail == .complete && upper > 1 ? 2 : 1
        return max(minimum, min(wanted, upper))
    }

    /// Whether an optional node can be shown with content of the template's
    /// own: not a slot nor an internal reference (a structure shown where it
    /// is defined); each list the RM requires non-empty (CLUSTER.items) has
    /// a child that can be shown; its mandatory children fit their
    /// attribute's cardinality and can be shown themselves (some templates
    /// constrain an optional node in a way no data satisfies).
    func isFillable(_ constraint: CObject, depth: Int) -> Bool {
        guard depth < Self.optionalDepth else { return false }
        switch constraint.kind {
        case .slot, .internalReference: return false
        case .complex, .archetypeRoot:
            let type = concrete(RMTypeName.split(constraint.rmTypeName).0)
            for attribute in constraint.attributes {
                let mandatory = attribute.children.filter { ($0.occurrences.lower ?? 0) >= 1 }
                if let upper = attribute.cardinality?.upper, mandatory.reduce(0, { $0 + ($1.occurrences.lower ?? 0) }) > upper { return false }
                if mandatory.contains(where: { child in
                    if case .internalReference = child.kind { return false }
                    return !isFillable(child, depth: depth + 1)
                }) { return false }
            }
            guard let rmClass = schema[type] else { return true }
            for name in rmClass.required where rmClass.attributes[name]?.minimumItems ?? 0 > 0 {
                guard let attribute = constraint.attribute(name) else { continue }
                let fillable = attribute.children.contains { ($0.occurrences.lower ?? 0) >= 1 || isFillable($0, depth: depth + 1) }
                if !fillable { return false }
            }
            return true
        default: return true
        }
    }

    /// The name: as the template constrains it (a fixed text or code), else
    /// the node's term in the archetype.
    func name(_ constraint: CObject, terms: [String: ArchetypeTerm], depth: Int) -> JSON {
        if let nameConstraint = constraint.attribute("name"), let first = nameConstraint.children.first,
            let value = object(first, terms: terms, depth: depth + 1), value["_type"] != nil
        {
            return value
        }
        let text = terms[constraint.termCode]?.text ?? constraint.rmTypeName
        return ["_type": "DV_TEXT", "value": .string(text)]
    }

    func codePhrase(_ terminologyID: String?, _ codes: [String]) -> JSON {
        let terminologyID = terminologyID ?? "local"
        var code = codes.first { !$0.isEmpty } ?? "example"
        if codes.isEmpty, let set = terminology.codeSets[terminologyID], let first = set.sorted().first { code = first }
        if codes.isEmpty, terminologyID == "openehr", let any = terminology.groups["setting"]?.keys.sorted().first { code = any }
        return ["_type": "CODE_PHRASE", "terminology_id": ["_type": "TERMINOLOGY_ID", "value": .string(terminologyID)], "code_string": .string(code)]
    }

    func codedText(_ code: String, terminologyID: String, terms: [String: ArchetypeTerm]) -> JSON {
        [
            "_type": "DV_CODED_TEXT", "value": .string(rubric(code, terminologyID: terminologyID, terms: terms)),
            "defining_code": codePhrase(terminologyID, [code]),
        ]
    }

    func rubric(_ code: String, terminologyID: String, terms: [String: ArchetypeTerm]) -> String {
        if terminologyID == "local", let term = terms[code] { return term.text }
        if terminologyID == "openehr" {
            for group in terminology.groups.values { if let text = group[code] { return text } }
        }
        return code
    }

    func quantity(_ item: QuantityItem?) -> JSON {
        guard let item else { return ["_type": "DV_QUANTITY", "magnitude": 1, "units": "1"] }
        let digits = item.precision?.upper ?? item.precision?.lower ?? 0
        return ["_type": "DV_QUANTITY", "magnitude": .number(Self.number(in: item.magnitude, digits: digits)), "units": .string(item.units)]
    }

    /// A number inside an interval, written with `digits` decimals (the
    /// lower bound when it is included, else just above it; 1 when open).
    static func number(in range: ConstraintInterval<Double>?, digits: Int) -> String {
        var value = 1.0
        if let range {
            if let lower = range.lower {
                value = range.lowerIncluded ? lower : lower + pow(10, -Double(max(digits, 0)))
                if let upper = range.upper, value > upper || (!range.upperIncluded && value >= upper) { value = (lower + upper) / 2 }
            } else if let upper = range.upper {
                value = range.upperIncluded ? upper : upper - 1
            }
        }
        return digits > 0 ? String(format: "%.\(digits)f", value) : String(format: "%.0f", value.rounded(range?.lower != nil ? .up : .down))
    }

    static func primitive(_ primitive: CPrimitive, time: String) -> JSON {
        switch primitive {
        case .string(let pattern, let list):
            if let first = list.first { return .string(first) }
            if let pattern { return .string(Self.text(matching: pattern)) }
            return "example"
        case .integer(let list, let range):
            if let first = list.first { return JSON(first) }
            if let range, let lower = range.lower { return JSON(range.lowerIncluded ? lower : lower + 1) }
            if let range, let upper = range.upper { return JSON(range.upperIncluded ? upper : upper - 1) }
            return 1
        case .real(let list, let range):
            if let first = list.first { return .number(String(first)) }
            return .number(number(in: range, digits: 1))
        case .boolean(let trueValid, _): return .bool(trueValid)
        case .date(let pattern): return .string(Self.temporal(time, pattern: pattern, kind: "date"))
        case .time(let pattern): return .string(Self.temporal(time, pattern: pattern, kind: "time"))
        case .dateTime(let pattern): return .string(Self.temporal(time, pattern: pattern, kind: "dateTime"))
        case .duration(_, let range):
            guard let range, let lower = range.lower else { return .string(range?.upper ?? "PT1H") }
            // An excluded lower bound: one more of its last unit (`P0D` gives `P1D`).
            guard !range.lowerIncluded, let digits = lower.range(of: #"\d+(?=[^\d]*$)"#, options: .regularExpression), let n = Int(lower[digits]) else {
                return .string(lower)
            }
            return .string(lower.replacingCharacters(in: digits, with: String(n + 1)))
        }
    }

    /// A text a C_STRING pattern accepts, for the simple patterns templates use
    /// (`[A-Z]+`, `.*`, literal alternatives `a|b`).
    static func text(matching pattern: String) -> String {
        if let first = pattern.split(separator: "|").first, first.allSatisfy({ $0.isLetter || $0.isNumber || $0 == " " || $0 == "-" }) {
            return String(first)
        }
        // A literal prefix and anything after it (`XYZ.*`).
        if pattern.hasSuffix(".*"), case let prefix = pattern.dropLast(2), !prefix.isEmpty,
            prefix.allSatisfy({ $0.isLetter || $0.isNumber || $0 == " " || $0 == "-" })
        {
            return prefix + "1"
        }
        for candidate in ["example", "A", "a", "1", "x"] where TemplateValidator.Walker.matches(candidate, pattern: pattern) { return candidate }
        return "example"
    }

    /// The stamp cut to what a date/time pattern allows (`YYYY-MM-DD`, `HH:MM:SS`).
    static func temporal(_ stamp: String, pattern: String?, kind: String) -> String {
        let date = String(stamp.prefix(10)), clock = String(stamp.dropFirst(11).prefix(8))
        switch kind {
        case "date": return pattern?.contains("DD") == false ? (pattern?.contains("MM") == true ? String(date.prefix(7)) : String(date.prefix(4))) : date
        case "time": return clock
        default: return stamp
        }
    }

    /// A concrete RM type for an abstract one the template names.
    func concrete(_ type: String) -> String {
        if schema[type] != nil { return type }
        let preferred: [String: String] = [
            "EVENT": "POINT_EVENT", "PARTY_PROXY": "PARTY_SELF", "ITEM_STRUCTURE": "ITEM_TREE", "DATA_VALUE": "DV_TEXT",
            "DV_ORDERED": "DV_COUNT", "DV_QUANTIFIED": "DV_QUANTITY", "DV_AMOUNT": "DV_QUANTITY", "DV_ABSOLUTE_QUANTITY": "DV_DATE_TIME",
            "DV_TEMPORAL": "DV_DATE_TIME", "DV_ENCAPSULATED": "DV_PARSABLE", "CARE_ENTRY": "OBSERVATION", "ENTRY": "ADMIN_ENTRY",
            "CONTENT_ITEM": "SECTION", "ITEM": "ELEMENT", "OBJECT_ID": "HIER_OBJECT_ID", "UID_BASED_ID": "HIER_OBJECT_ID",
        ]
        if let type = preferred[type] { return type }
        return RMTypeHierarchy.concreteTypes(of: type).sorted().first { schema[$0] != nil } ?? type
    }
}
