import Foundation
import JSONCore
import OpenEHR

/// Validates a composition (canonical JSON already checked against the RM,
/// so every object carries `_type`) against its operational template, and
/// reports every violation with its path and the rule broken: RM types,
/// existence, cardinality, occurrences, archetype node ids, names, and the
/// leaf constraints (quantity units, ranges and precision; code lists and
/// terminologies; ordinals; counts, dates, times, durations; strings;
/// booleans), plus codes of the openEHR terminology.
public struct TemplateValidator: Sendable {
    public let terminology: OpenEHRTerminology

    public init(terminology: OpenEHRTerminology = .shared) {
        self.terminology = terminology
    }

    public func validate(_ composition: JSON, against template: OperationalTemplate) -> [DecodingProblem] {
        var problems: [DecodingProblem] = []
        if let templateID = composition["archetype_details"]?["template_id"]?["value"]?.stringValue, templateID != template.templateID {
            problems.append(DecodingProblem(path: "/archetype_details/template_id/value", message: "is '\(templateID)', but the composition is validated against '\(template.templateID)'"))
        }
        if let node = composition["archetype_node_id"]?.stringValue, node != template.rootArchetypeID {
            problems.append(DecodingProblem(path: "/archetype_node_id", message: "is '\(node)', the template's root archetype is \(template.rootArchetypeID)"))
        }
        var walker = Walker(terminology: terminology, root: template.definition)
        walker.object(composition, template.definition, path: "")
        return problems + walker.problems
    }

    struct Walker {
        let terminology: OpenEHRTerminology
        let root: CObject
        var problems: [DecodingProblem] = []
        /// The terms of the archetype the walk is in (its nearest archetype root).
        var terms: [String: ArchetypeTerm] = [:]

        mutating func report(_ path: String, _ message: String) {
            problems.append(DecodingProblem(path: path.isEmpty ? "/" : path, message: message))
        }

        /// Checks one RM object against one constraint.
        mutating func object(_ value: JSON, _ constraint: CObject, path: String) {
            guard case .object(let object) = value else {
                if case .primitive(let primitive) = constraint.kind { self.primitive(value, primitive, path: path) }
                return
            }
            let type = object["_type"]?.stringValue ?? constraint.rmTypeName
            if !RMTypeHierarchy.conforms(type, to: constraint.rmTypeName) {
                report(path, "is a \(type), the template requires \(constraint.rmTypeName)")
                return
            }
            let outer = terms
            if !constraint.terms.isEmpty { terms = constraint.terms }
            defer { terms = outer }
            switch constraint.kind {
            case .codePhrase(let terminologyID, let codes): codePhrase(object, terminologyID: terminologyID, codes: codes, path: path)
            case .quantity(_, let items): quantity(object, items, path: path)
            case .ordinal(let items): ordinal(object, items, path: path)
            case .internalReference(let target):
                if let referenced = resolve(target) { attributes(object, of: type, referenced, path: path) }
                return
            case .slot, .constraintReference, .primitive: return
            case .complex, .archetypeRoot: break
            }
            attributes(object, of: type, constraint, path: path)
        }

        mutating func attributes(_ object: JSONObject, of type: String, _ constraint: CObject, path: String) {
            let rmClass = RMSchema.rm110[type]
            for attribute in constraint.attributes {
                // Constraints on RM functions (EVENT.offset) or on attributes
                // of older RM releases are not checked against stored data.
                if let rmClass, rmClass.attributes[attribute.name] == nil { continue }
                // ACTIVITY.action_archetype_id holds a pattern itself.
                if type == "ACTIVITY" && attribute.name == "action_archetype_id" { continue }
                let value = object[attribute.name]
                let here = path + "/" + attribute.name
                guard let value, value != .null, value != .array([]) else {
                    if (attribute.existence.lower ?? 0) >= 1 {
                        report(here, "is mandatory in the template (existence \(attribute.existence.text)) but missing")
                    }
                    continue
                }
                if attribute.existence.upper == 0 {
                    report(here, "is not allowed by the template (existence \(attribute.existence.text))")
                    continue
                }
                if attribute.isMultiple || value.arrayValue != nil {
                    multiple(value.arrayValue ?? [value], attribute, path: here)
                } else {
                    single(value, attribute, path: here)
                }
            }
        }

        mutating func single(_ value: JSON, _ attribute: CAttribute, path: String) {
            guard !attribute.children.isEmpty else { return }
            let alternatives = candidates(for: value, among: attribute.children)
            guard !alternatives.isEmpty else {
                report(path + nodeSuffix(value), notAllowedMessage(value, attribute))
                return
            }
            _ = bestAlternative(value, alternatives, path: path + nodeSuffix(value))
        }

        /// Validates `value` against each alternative constraint (an ACTION's
        /// ISM_TRANSITION per careflow step, two ELEMENTs told apart by name)
        /// and keeps the first that fits; when none does, reports the
        /// problems of the closest. Returns the alternative used.
        mutating func bestAlternative(_ value: JSON, _ alternatives: [CObject], path: String) -> CObject {
            if alternatives.count == 1 {
                object(value, alternatives[0], path: path)
                return alternatives[0]
            }
            var best: (CObject, [DecodingProblem])?
            for alternative in alternatives {
                var trial = Walker(terminology: terminology, root: root, terms: terms)
                trial.object(value, alternative, path: path)
                if trial.problems.isEmpty { return alternative }
                if best == nil || trial.problems.count < best!.1.count { best = (alternative, trial.problems) }
            }
            problems.append(contentsOf: best!.1)
            return best!.0
        }

        mutating func multiple(_ items: [JSON], _ attribute: CAttribute, path: String) {
            if let cardinality = attribute.cardinality, !cardinality.contains(items.count) {
                report(path, "has \(items.count) item(s), the template allows \(cardinality.text)")
            }
            guard !attribute.children.isEmpty else { return }
            var counts = [Int](repeating: 0, count: attribute.children.count)
            let indexed = Array(attribute.children.enumerated())
            for item in items {
                let alternatives = candidates(for: item, among: attribute.children)
                guard !alternatives.isEmpty else {
                    report(path + nodeSuffix(item), notAllowedMessage(item, attribute))
                    continue
                }
                // An alternative that names the item's name is the one it is, before those that leave the name open.
                let specific = alternatives.filter { namesExactly(item, $0) }
                let named = specific.isEmpty ? alternatives.filter { nameMatches(item, $0) } : specific
                let chosen = bestAlternative(item, named.isEmpty ? alternatives : named, path: path + nodeSuffix(item))
                if let index = indexed.first(where: { Self.same($0.element, chosen) })?.offset { counts[index] += 1 }
            }
            for (index, child) in attribute.children.enumerated() {
                if case .slot = child.kind { continue }
                if !child.occurrences.contains(counts[index]) && !(counts[index] == 0 && (child.occurrences.lower ?? 0) == 0) {
                    let node = child.archetypeID ?? child.nodeID
                    report(path + "[\(node)]", "occurs \(counts[index]) time(s), the template requires \(child.occurrences.text)")
                }
            }
        }

        /// The constraints an item may be matched to: by archetype node id
        /// for LOCATABLEs (an archetype id at an archetype root, a slot whose
        /// pattern admits it), by RM type otherwise.
        func candidates(for item: JSON, among children: [CObject]) -> [CObject] {
            let type = item["_type"]?.stringValue ?? ""
            if let node = item["archetype_node_id"]?.stringValue {
                let exact = children.filter { child in
                    (child.archetypeID ?? child.nodeID) == node && (type.isEmpty || RMTypeHierarchy.conforms(type, to: child.rmTypeName))
                }
                if !exact.isEmpty { return exact }
                return children.filter { child in
                    guard case .slot(let includes, _) = child.kind else { return false }
                    return RMTypeHierarchy.conforms(type, to: child.rmTypeName) && (includes.isEmpty || includes.contains { Self.matches(node, pattern: $0) })
                }
            }
            return children.filter { type.isEmpty || RMTypeHierarchy.conforms(type, to: $0.rmTypeName) || $0.rmTypeName == "STRING" }
        }

        static func same(_ a: CObject, _ b: CObject) -> Bool {
            a.nodeID == b.nodeID && a.rmTypeName == b.rmTypeName && a.archetypeID == b.archetypeID
                && a.attribute("name")?.children.first?.attribute("value")?.children.first?.kind
                    == b.attribute("name")?.children.first?.attribute("value")?.children.first?.kind
        }

        func notAllowedMessage(_ item: JSON, _ attribute: CAttribute) -> String {
            let type = item["_type"]?.stringValue ?? "value"
            let allowed = attribute.children.map { $0.archetypeID ?? ($0.nodeID.isEmpty ? $0.rmTypeName : "\($0.rmTypeName)[\($0.nodeID)]") }
            if let node = item["archetype_node_id"]?.stringValue {
                return "\(type) with archetype node id \(node) is not allowed here by the template (allowed: \(allowed.joined(separator: ", ")))"
            }
            return "\(type) is not allowed here by the template (allowed: \(allowed.joined(separator: ", ")))"
        }

        /// Whether the item's name satisfies the name constraint of `child` (if any).
        func nameMatches(_ item: JSON, _ child: CObject) -> Bool {
            guard let list = Self.nameList(child) else { return true }
            return list.contains(item["name"]?["value"]?.stringValue ?? "")
        }

        /// Whether `child` constrains the name to a list that holds the item's.
        func namesExactly(_ item: JSON, _ child: CObject) -> Bool {
            Self.nameList(child)?.contains(item["name"]?["value"]?.stringValue ?? "") ?? false
        }

        /// The names a node's constraint allows, when it lists them.
        static func nameList(_ child: CObject) -> [String]? {
            guard let nameConstraint = child.attribute("name")?.children.first,
                let valueConstraint = nameConstraint.attribute("value")?.children.first,
                case .primitive(.string(_, let list)) = valueConstraint.kind, !list.isEmpty
            else { return nil }
            return list
        }

        func nodeSuffix(_ item: JSON) -> String {
            item["archetype_node_id"]?.stringValue.map { "[\($0)]" } ?? ""
        }

        /// ARCHETYPE_INTERNAL_REF: the node at an archetype path such as
        /// `/data[at0001]/events[at0002]` (from the template root, or from
        /// the archetype root the reference stands in).
        func resolve(_ targetPath: String) -> CObject? { root.internalReference(targetPath) }

        static func matches(_ text: String, pattern: String) -> Bool {
            guard let regex = RegexCache.shared.regex(pattern) else { return false }
            return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
        }

        // MARK: Leaf constraints

        mutating func primitive(_ value: JSON, _ constraint: CPrimitive, path: String) {
            switch (constraint, value) {
            case (.string(let pattern, let list), .string(let text)):
                if !list.isEmpty, !list.contains(text) {
                    report(path, "'\(text)' is not one of the values the template allows (\(list.joined(separator: ", ")))")
                } else if let pattern, !pattern.isEmpty, pattern != ".*", !Self.matches(text, pattern: pattern) {
                    report(path, "'\(text)' does not match the pattern \(pattern)")
                }
            case (.integer(let list, let range), .number(let text)):
                guard let number = Int(text) else { return report(path, "\(text) is not an integer") }
                if !list.isEmpty, !list.contains(number) { report(path, "\(number) is not one of \(list.map(String.init).joined(separator: ", "))") }
                if let range, !range.contains(number) { report(path, "\(number) is outside the range \(range.text)") }
            case (.real(let list, let range), .number(let text)):
                guard let number = Double(text) else { return report(path, "\(text) is not a number") }
                if !list.isEmpty, !list.contains(number) { report(path, "\(text) is not one of the allowed values") }
                if let range, !range.contains(number) { report(path, "\(text) is outside the range \(range.text)") }
            case (.boolean(let trueValid, let falseValid), .bool(let flag)):
                if flag && !trueValid { report(path, "true is not allowed by the template") }
                if !flag && !falseValid { report(path, "false is not allowed by the template") }
            case (.dateTime, .string(let text)):
                if !ISO8601Text.isDateTime(text) { report(path, "'\(text)' is not an ISO 8601 date-time") }
            case (.date, .string(let text)):
                if !ISO8601Text.isDate(text) { report(path, "'\(text)' is not an ISO 8601 date") }
            case (.time, .string(let text)):
                if !ISO8601Text.isTime(text) { report(path, "'\(text)' is not an ISO 8601 time") }
            case (.duration(_, let range), .string(let text)):
                if !ISO8601Text.isDuration(text) { return report(path, "'\(text)' is not an ISO 8601 duration") }
                if let range, !Self.duration(text, isIn: range) { report(path, "\(text) is outside the range \(range.text) the template allows") }
            default:
                report(path, "\(value.kindName) does not fit the template's constraint")
            }
        }

        /// A duration inside a C_DURATION range, comparing lengths (a year
        /// and a month at their average length, as BASE ISO8601_DURATION does).
        static func duration(_ text: String, isIn range: ConstraintInterval<String>) -> Bool {
            guard let value = ISO8601Text.seconds(ofDuration: text, nominal: true) else { return true }
            let seconds = ConstraintInterval(
                lower: range.lower.flatMap { ISO8601Text.seconds(ofDuration: $0, nominal: true) },
                upper: range.upper.flatMap { ISO8601Text.seconds(ofDuration: $0, nominal: true) },
                lowerIncluded: range.lowerIncluded, upperIncluded: range.upperIncluded)
            return seconds.contains(value)
        }

        mutating func codePhrase(_ object: JSONObject, terminologyID: String?, codes: [String], path: String) {
            let terminology = object["terminology_id"]?["value"]?.stringValue ?? ""
            let code = object["code_string"]?.stringValue ?? ""
            if let terminologyID, !terminologyID.isEmpty, terminology != terminologyID {
                report(path + "/terminology_id/value", "is '\(terminology)', the template requires terminology \(terminologyID)")
            } else if !codes.isEmpty, !codes.contains(code) {
                report(path + "/code_string", "'\(code)' is not in the template's code list (\(codes.joined(separator: ", ")))")
            }
        }

        mutating func quantity(_ object: JSONObject, _ items: [QuantityItem], path: String) {
            guard !items.isEmpty else { return }
            let units = object["units"]?.stringValue ?? ""
            guard let item = items.first(where: { $0.units == units }) else {
                return report(path + "/units", "'\(units)' is not a unit the template allows (\(items.map(\.units).joined(separator: ", ")))")
            }
            guard case .number(let text)? = object["magnitude"], let magnitude = Double(text) else { return }
            if let range = item.magnitude, !range.contains(magnitude) {
                report(path + "/magnitude", "\(text) \(units) is outside the range \(range.text) the template allows")
            }
            // Precision N: the value is expressed with at most N decimal places
            // (0: an integral quantity); `22.0` is integral.
            if let precision = item.precision, let digits = precision.upper, digits >= 0 {
                let scaled = magnitude * pow(10, Double(digits))
                if abs(scaled - scaled.rounded()) > 1e-9 * max(1, abs(scaled)) {
                    report(path + "/magnitude", "\(text) has more than \(digits) decimal place(s), the template's precision")
                }
            }
        }

        mutating func ordinal(_ object: JSONObject, _ items: [OrdinalItem], path: String) {
            guard !items.isEmpty else { return }
            let code = object["symbol"]?["defining_code"]?["code_string"]?.stringValue ?? ""
            guard case .number(let text)? = object["value"], let value = Int(text) else { return }
            if !items.contains(where: { $0.value == value && $0.code == code }) {
                report(path, "ordinal \(value) with symbol \(code) is not one the template allows (\(items.map { "\($0.value)|\($0.code)" }.joined(separator: ", ")))")
            }
            // The symbol is the archetype's term for its code, in the template's language or one of its translations.
            if let term = terms[code], let text = object["symbol"]?["value"]?.stringValue,
                object["symbol"]?["defining_code"]?["terminology_id"]?["value"]?.stringValue == "local",
                text != term.text, !term.translations.contains(where: { $0.text == text })
            {
                report(path + "/symbol/value", "'\(text)' is not the term of \(code) ('\(term.text)')")
            }
        }

    }
}

/// Compiled patterns of C_STRING constraints and slots, compiled once:
/// compiling dominated the validation of large compositions.
final class RegexCache: @unchecked Sendable {
    static let shared = RegexCache()
    private let lock = NSLock()
    private var compiled: [String: NSRegularExpression?] = [:]

    /// A whole-string match of `pattern`; nil when it is not a valid pattern.
    func regex(_ pattern: String) -> NSRegularExpression? {
        lock.lock()
        defer { lock.unlock() }
        if let cached = compiled[pattern] { return cached }
        let regex = try? NSRegularExpression(pattern: "^(?:" + pattern + ")$")
        compiled[pattern] = regex
        return regex
    }
}
