import JSONCore
import OpenEHR

/// The web template of an operational template (the JSON form EHRbase and
/// Better serve for `Accept: application/openehr.wt+json`): a tree of nodes,
/// one per element a form can fill, with its id, names, RM type, node id,
/// occurrences, AQL path, and the inputs of its data value; the RM
/// attributes the context supplies are marked `inContext`.
public struct WebTemplate {
    let template: OperationalTemplate
    let language: String
    let annotationIndex: AnnotationIndex
    /// The template's default values by the path of the data value.
    let defaultIndex: PathIndex<[String: String]>

    public static func generate(_ template: OperationalTemplate) -> JSON {
        let builder = WebTemplate(template: template, language: template.language, annotationIndex: AnnotationIndex(template.annotations.map { ($0.path, $0.items) }),
            defaultIndex: PathIndex(template.defaultValues.map { ($0.path, $0.parts) }))
        var tree = builder.node(template.definition, path: "", terms: template.definition.terms, attribute: nil)
        tree["aqlPath"] = nil
        return [
            "templateId": .string(template.templateID), "version": "2.3", "defaultLanguage": .string(builder.language),
            "languages": .array(template.languages.map { .string($0) }), "tree": .object(tree),
        ]
    }

    /// Structures a form does not show: their items belong to the node above.
    static let transparent: Set<String> = ["HISTORY", "ITEM_TREE", "ITEM_LIST", "ITEM_SINGLE", "ITEM_TABLE", "ITEM_STRUCTURE"]

    /// One node and its children.
    func node(_ constraint: CObject, path: String, terms: [String: ArchetypeTerm], attribute: String?) -> JSONObject {
        nodes(constraint, path: path, terms: terms, attribute: attribute).first ?? JSONObject()
    }

    /// The node of a constraint, or the nodes of its children when the
    /// constraint is a structure (HISTORY, ITEM_TREE) a form does not show.
    func nodes(_ constraint: CObject, path: String, terms: [String: ArchetypeTerm], attribute: String?, siblings: Int = 1) -> [JSONObject] {
        var constraint = constraint
        if case .internalReference(let target) = constraint.kind, let referenced = template.definition.internalReference(target) {
            constraint = CObject(
                kind: referenced.kind, rmTypeName: referenced.rmTypeName, nodeID: referenced.nodeID, occurrences: constraint.occurrences,
                attributes: referenced.attributes, terms: referenced.terms)
        }
        let terms = constraint.terms.isEmpty ? terms : constraint.terms
        // A node whose name is one of several local codes: one node per name, as EHRbase lists them.
        let coded = Self.codedNames(constraint, terms: terms)
        if coded.count > 1 {
            return coded.flatMap { named -> [JSONObject] in
                var copy = constraint
                copy.attributes = constraint.attributes.map { attribute in
                    guard attribute.name == "name" else { return attribute }
                    var fixed = attribute
                    let value = CAttribute(
                        name: "value", existence: .init(lower: 1, upper: 1), isMultiple: false, cardinality: nil, isOrdered: false, isUnique: false,
                        children: [CObject(kind: .primitive(.string(pattern: nil, list: [named.text])), rmTypeName: "STRING", nodeID: "", occurrences: .init(lower: 1, upper: 1), attributes: [], terms: [:])])
                    fixed.children = [CObject(kind: .complex, rmTypeName: "DV_TEXT", nodeID: "", occurrences: .init(lower: 1, upper: 1), attributes: [value], terms: [:])]
                    return fixed
                }
                return nodes(copy, path: path, terms: terms, attribute: attribute, siblings: siblings)
            }
        }
        // An RM object that is not archetyped (EVENT_CONTEXT) is named after its attribute.
        let name = constraint.nodeID.isEmpty && constraint.archetypeID == nil ? (attribute ?? constraint.rmTypeName) : displayName(constraint, terms: terms)
        let predicate = self.predicate(constraint)
        let step = attribute.map { predicate.isEmpty ? "/\($0)" : "/\($0)[\(predicate)]" } ?? ""
        let here = path + step
        let type = RMTypeName.split(constraint.rmTypeName).base
        if type == "ELEMENT" { return [element(constraint, path: here, name: name, terms: terms)] }
        var children: [JSON] = []
        var trailing: [JSON] = []
        // The attributes whose cardinality the template narrows, with the range of their nodes in `children`.
        var narrowed: [(attribute: CAttribute, nodes: Range<Int>)] = []
        for attribute in constraint.attributes where attribute.name != "name" && !(type == "COMPOSITION" && attribute.name == "category") {
            let fillable = attribute.children.filter {
                switch $0.kind {
                case .complex, .archetypeRoot, .internalReference: true
                default: false
                }
            }
            // An ACTION's ISM transitions are one node, after its context, as EHRbase lists it.
            if type == "ACTION" && attribute.name == "ism_transition" {
                trailing.append(ismTransition(fillable, path: here, terms: terms))
                continue
            }
            let start = children.count
            children += fillable.flatMap { nodes($0, path: here, terms: terms, attribute: attribute.name, siblings: fillable.count).map { JSON.object($0) } }
            if let cardinality = attribute.cardinality, (cardinality.lower ?? 0) > 1 || cardinality.upper != nil {
                narrowed.append((attribute, start..<children.count))
            }
        }
        // The RM attributes the context supplies, unless the template constrains them (an INTERVAL_EVENT's width).
        let constrained = Set(children.compactMap { $0["aqlPath"]?.stringValue })
        let context = contextNodes(type, path: here).filter { !constrained.contains($0["aqlPath"]?.stringValue ?? "") }
        // A structure, or the one event of a history that cannot repeat: its nodes belong to the node above.
        if Self.transparent.contains(type) || (type.hasSuffix("EVENT") && constraint.occurrences.upper == 1 && siblings == 1) {
            return (children + context).compactMap(\.objectValue)
        }
        children = Self.uniqueIDs(children)
        let cardinalities = narrowed.map { entry -> JSON in
            [
                "min": JSON(entry.attribute.cardinality?.lower ?? 0), "max": JSON(entry.attribute.cardinality?.upper ?? -1),
                "ids": .array(children[entry.nodes].compactMap { $0["id"] }),
            ]
        }
        if type == "ACTION" && trailing.isEmpty { trailing.append(ismTransition([], path: here, terms: terms)) }
        children += context + trailing
        if type == "COMPOSITION" { children.insert(.object(categoryNode()), at: 0) }
        var object = header(id: Self.identifier(name), name: name, type: type, constraint: constraint, terms: terms)
        object["aqlPath"] = .string(here)
        annotate(&object, path: here)
        if !children.isEmpty { object["children"] = .array(Self.uniqueIDs(children)) }
        Self.bind(Self.term(of: constraint, in: terms), into: &object)
        // A cardinality the template narrows: how many of the attribute's nodes an instance holds, as EHRbase gives it.
        if !cardinalities.isEmpty { object["cardinalities"] = .array(cardinalities) }
        return [object]
    }

    /// Id, names, RM type, node id and occurrences.
    func header(id: String, name: String, type: String, constraint: CObject, terms: [String: ArchetypeTerm]) -> JSONObject {
        var object = JSONObject()
        object["id"] = .string(id)
        object["name"] = .string(name)
        object["localizedName"] = .string(name)
        object["rmType"] = .string(type)
        let nodeID = constraint.archetypeID ?? constraint.nodeID
        if !nodeID.isEmpty { object["nodeId"] = .string(nodeID) }
        object["min"] = JSON(constraint.occurrences.lower ?? 0)
        object["max"] = JSON(constraint.occurrences.upper ?? -1)
        if let term = Self.term(of: constraint, in: terms) {
            // A name the template gives instead of the archetype's has no
            // translation: the other languages show it marked as untranslated,
            // `*name(language)`, as the Archetype Designer and the openEHR SDK do.
            let renamed = name != term.text
            object["localizedNames"] = localized(name, term.translations.map { ($0.language, renamed ? "*\(name)(\(language))" : $0.text) })
            object["localizedDescriptions"] = localized(term.description, term.translations.map { ($0.language, $0.description) })
            // The archetype's comment on the term, as EHRbase gives it.
            if let comment = term.comment, !comment.isEmpty { object["annotations"] = ["comment": .string(comment)] }
        }
        return object
    }

    /// `{language: text}` for the template's language, then for each
    /// language its ontologies translate the term into.
    func localized(_ text: String, _ translations: [(String, String)]) -> JSON {
        .object(JSONObject([(language, .string(text))] + translations.map { ($0.0, .string($0.1)) }))
    }

    /// A term's label and description in every language the template has,
    /// and its bindings.
    func localizedTerm(_ term: ArchetypeTerm, into item: inout JSONObject) {
        item["localizedLabels"] = localized(term.text, term.translations.map { ($0.language, $0.text) })
        item["localizedDescriptions"] = localized(term.description, term.translations.map { ($0.language, $0.description) })
        Self.bind(term, into: &item)
    }

    /// `termBindings`: `{terminology: {value, terminologyId}}` for each binding of the term.
    static func bind(_ term: ArchetypeTerm?, into object: inout JSONObject) {
        guard let term, !term.bindings.isEmpty else { return }
        var bindings = JSONObject()
        for binding in term.bindings {
            bindings[binding.terminology] = ["value": .string(binding.code), "terminologyId": .string(binding.terminologyID)]
        }
        object["termBindings"] = .object(bindings)
    }

    /// The term a node's names come from.
    static func term(of constraint: CObject, in terms: [String: ArchetypeTerm]) -> ArchetypeTerm? {
        terms[constraint.termCode]
    }

    /// An ELEMENT: one node of its value's type when the template allows
    /// one, else the ELEMENT with a node per allowed value type.
    func element(_ constraint: CObject, path: String, name: String, terms: [String: ArchetypeTerm]) -> JSONObject {
        var values = constraint.attribute("value")?.children ?? []
        // A free DV_TEXT beside a DV_CODED_TEXT is the coded text's own text: one
        // node, whose code list is open to other text.
        var openList = false
        if values.count == 2, values.contains(where: { RMTypeName.split($0.rmTypeName).base == "DV_CODED_TEXT" }),
            values.contains(where: { RMTypeName.split($0.rmTypeName).base == "DV_TEXT" && $0.attributes.isEmpty })
        {
            values.removeAll { RMTypeName.split($0.rmTypeName).base == "DV_TEXT" }
            openList = true
        }
        if values.count == 1 {
            let value = values[0]
            var object = header(id: Self.identifier(name), name: name, type: value.fullTypeName, constraint: constraint, terms: terms)
            if openList { object["nodeId"] = nil }
            object["aqlPath"] = .string(path + "/value")
            annotate(&object, path: path)
            var inputs = self.inputs(value, terms: terms, path: path + "/value")
            if openList, case .object(var first)? = inputs.first, first["list"] != nil {
                let terminology = first["terminology"]
                first["terminology"] = nil
                first["listOpen"] = true
                first["terminology"] = terminology
                inputs[0] = .object(first)
                inputs.append(["suffix": "other", "type": "TEXT"])
            }
            if !inputs.isEmpty { object["inputs"] = .array(inputs) }
            if let limits = intervalLimits(value, path: path + "/value", terms: terms) { object["children"] = .array(limits) }
            Self.bind(Self.term(of: constraint, in: terms), into: &object)
            if let kinds = Self.proportionTypes(value) { object["proportionTypes"] = kinds }
            return object
        }
        var object = header(id: Self.identifier(name), name: name, type: "ELEMENT", constraint: constraint, terms: terms)
        object["aqlPath"] = .string(path)
        annotate(&object, path: path)
        let alternatives = values.isEmpty ? Self.anyValueTypes.map { CObject(kind: .complex, rmTypeName: $0, nodeID: "", occurrences: .init(lower: 0, upper: 1), attributes: [], terms: [:]) } : values
        var children: [JSON] = []
        for value in alternatives {
            let type = RMTypeName.split(value.rmTypeName).base
            var child = JSONObject()
            // `interval<dv_time>_value` for a generic type, as EHRbase names it.
            let parameter = value.genericParameter.map { "<" + $0.lowercased() + ">" } ?? ""
            child["id"] = .string(Self.identifier(String(type.dropFirst(3))) + parameter + "_value")
            child["name"] = .string(name)
            child["localizedName"] = .string(name)
            child["rmType"] = .string(value.fullTypeName)
            // Alternatives the template lists carry the element's node id and their own occurrences.
            if !values.isEmpty {
                if !constraint.nodeID.isEmpty { child["nodeId"] = .string(constraint.nodeID) }
                child["min"] = JSON(value.occurrences.lower ?? 0)
                child["max"] = JSON(value.occurrences.upper ?? -1)
            } else {
                child["min"] = 0
                child["max"] = 1
            }
            // The element's names and descriptions; a value type the template lists also its annotations.
            child["localizedNames"] = object["localizedNames"]
            child["localizedDescriptions"] = object["localizedDescriptions"]
            child["aqlPath"] = .string(path + "/value")
            let inputs = self.inputs(value, terms: terms, path: path + "/value")
            if !inputs.isEmpty { child["inputs"] = .array(inputs) }
            if !values.isEmpty { child["annotations"] = object["annotations"] }
            // EHRbase marks the value types of an open ELEMENT as given by context.
            if values.isEmpty { child["inContext"] = true }
            if let limits = intervalLimits(value, path: path + "/value", terms: terms) { child["children"] = .array(limits) }
            if let kinds = Self.proportionTypes(value) { child["proportionTypes"] = kinds }
            children.append(.object(child))
        }
        object["children"] = .array(children)
        Self.bind(Self.term(of: constraint, in: terms), into: &object)
        return object
    }

    /// A DV_INTERVAL's two limits, upper then lower as EHRbase lists them,
    /// each a node of the interval's parameter type with its inputs.
    func intervalLimits(_ value: CObject, path: String, terms: [String: ArchetypeTerm]) -> [JSON]? {
        guard RMTypeName.split(value.rmTypeName).base == "DV_INTERVAL" else { return nil }
        return ["upper", "lower"].compactMap { limit -> JSON? in
            let constrained = value.attribute(limit)?.children.first
            guard let type = constrained.map({ RMTypeName.split($0.rmTypeName).base }) ?? value.genericParameter else { return nil }
            let bound = constrained ?? CObject(kind: .complex, rmTypeName: type, nodeID: "", occurrences: .init(lower: 1, upper: 1), attributes: [], terms: [:])
            var node = JSONObject()
            node["id"] = .string(limit)
            node["name"] = .string(limit)
            node["localizedName"] = .string(limit)
            node["rmType"] = .string(type)
            node["min"] = 1
            node["max"] = 1
            node["aqlPath"] = .string(path + "/" + limit)
            let inputs = self.inputs(bound, terms: terms)
            if !inputs.isEmpty { node["inputs"] = .array(inputs) }
            return .object(node)
        }
    }

    /// A DV_PROPORTION's kinds (RM PROPORTION_KIND) by name: those the
    /// template allows for `type`, or all five.
    static func proportionTypes(_ value: CObject) -> JSON? {
        guard RMTypeName.split(value.rmTypeName).base == "DV_PROPORTION" else { return nil }
        let names = ["ratio", "unitary", "percent", "fraction", "integer_fraction"]
        var allowed = Array(0..<names.count)
        if case .primitive(.integer(let list, let range))? = value.attribute("type")?.children.first?.kind {
            if !list.isEmpty { allowed = list.filter { names.indices.contains($0) } } else if let range { allowed = allowed.filter { range.contains($0) } }
        }
        return .array(allowed.map { .string(names[$0]) })
    }

    /// The value types of an ELEMENT whose value the template leaves open, in the order EHRbase lists them.
    static let anyValueTypes = [
        "DV_TEXT", "DV_CODED_TEXT", "DV_MULTIMEDIA", "DV_PARSABLE", "DV_STATE", "DV_BOOLEAN", "DV_IDENTIFIER", "DV_URI", "DV_EHR_URI",
        "DV_DURATION", "DV_QUANTITY", "DV_COUNT", "DV_PROPORTION", "DV_DATE_TIME", "DV_TIME", "DV_ORDINAL", "DV_DATE",
    ]

    /// The name the template gives (a fixed name/value) or the node's term.
    func displayName(_ constraint: CObject, terms: [String: ArchetypeTerm]) -> String {
        if let fixed = Self.fixedName(constraint) { return fixed }
        return Self.term(of: constraint, in: terms)?.text ?? constraint.rmTypeName
    }

    /// The names a node may take when the template codes them (a
    /// DV_CODED_TEXT name with a list of local codes): code and text.
    static func codedNames(_ constraint: CObject, terms: [String: ArchetypeTerm]) -> [(code: String, text: String)] {
        guard let name = constraint.attribute("name")?.children.first, RMTypeName.split(name.rmTypeName).base == "DV_CODED_TEXT",
            let code = name.attribute("defining_code")?.children.first, case .codePhrase(let terminology, let codes) = code.kind,
            terminology == nil || terminology == "local"
        else { return [] }
        return codes.compactMap { code in terms[code].map { (code, $0.text) } }
    }

    static func fixedName(_ constraint: CObject) -> String? {
        guard let nameConstraint = constraint.attribute("name")?.children.first,
            let value = nameConstraint.attribute("value")?.children.first, case .primitive(.string(_, let list)) = value.kind,
            let first = list.first
        else { return nil }
        return first
    }

    /// `at0005` or `at0005 and name/value='Kategorie'` when the template names the node.
    func predicate(_ constraint: CObject) -> String {
        let nodeID = constraint.archetypeID ?? constraint.nodeID
        if let fixed = Self.fixedName(constraint) {
            // A quote in the name is escaped (AQL string literals: `\'`).
            let literal = fixed.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
            return "\(nodeID) and name/value='\(literal)'"
        }
        return nodeID
    }

    /// `Kategorie (LOINC)` → `kategorie_loinc`: lower case, letters, ASCII digits,
    /// hyphens and dots kept, every other run of characters one underscore,
    /// none at either end.
    public static func identifier(_ name: String) -> String {
        var result = ""
        var pendingUnderscore = false
        for character in name.lowercased() {
            // Digits only as ASCII digits: `SpO₂` is `spo`, as EHRbase names it.
            if character.isLetter || (character.isASCII && character.isNumber) || character == "-" || character == "." {
                if pendingUnderscore && !result.isEmpty { result.append("_") }
                pendingUnderscore = false
                result.append(character)
            } else {
                pendingUnderscore = true
            }
        }
        if result.isEmpty { return "node" }
        // The simplified formats' id rule: an id does not start with a digit (`24 hour average` is `a24_hour_average`).
        return result.first!.isNumber ? "a" + result : result
    }

    /// Siblings with the same id get `2`, `3`, … (as EHRbase numbers them).
    static func uniqueIDs(_ children: [JSON]) -> [JSON] {
        var seen: [String: Int] = [:]
        return children.map { child in
            guard case .object(var object) = child, let id = object["id"]?.stringValue else { return child }
            let count = (seen[id] ?? 0) + 1
            seen[id] = count
            if count > 1 { object["id"] = .string(id + String(count)) }
            return .object(object)
        }
    }
}
