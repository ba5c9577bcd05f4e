import Foundation
import OpenEHR

/// Why an OPT was refused: each problem with the line it was found on.
public struct TemplateError: Error, Sendable, CustomStringConvertible {
    public var problems: [DecodingProblem]

    public var description: String { problems.map(\.description).joined(separator: "; ") }
}

/// Parses an operational template (OPT 1.4 XML, the openEHR Template.xsd)
/// into an `OperationalTemplate`, refusing documents that are not one:
/// empty or malformed XML, a missing or repeated mandatory element
/// (template_id, concept, language, definition), an element the schema does
/// not know, an RM type or attribute that does not exist.
public struct OPTParser: Sendable {
    public let schema: RMSchema

    public init(schema: RMSchema = .rm110) {
        self.schema = schema
    }

    static let templateElements: Set<String> = [
        "language", "is_controlled", "description", "revision_history", "translations", "uid", "template_id", "concept",
        "definition", "ontology", "annotations", "constraints", "view", "component_ontologies", "other_details",
    ]
    static let singleElements = ["language", "description", "uid", "template_id", "concept", "definition", "is_controlled"]

    public func parse(_ data: Data) throws(TemplateError) -> OperationalTemplate {
        var problems: [DecodingProblem] = []
        func fail(_ line: Int, _ message: String) { problems.append(DecodingProblem(path: "line \(line)", message: message)) }
        guard !data.isEmpty, data.contains(where: { $0 > 0x20 }) else {
            throw TemplateError(problems: [DecodingProblem(path: "line 1", message: "the document is empty")])
        }
        let root: XMLElement
        do {
            root = try XMLTree.parse(data)
        } catch {
            throw TemplateError(problems: [DecodingProblem(path: "line \(error.line)", message: "not well-formed XML: \(error.message)")])
        }
        guard root.name == "template" else {
            throw TemplateError(problems: [DecodingProblem(path: "line \(root.line)", message: "the root element is <\(root.name)>, an OPT's is <template>")])
        }
        for element in root.children where !Self.templateElements.contains(element.name) {
            fail(element.line, "<\(element.name)> is not an element of an operational template")
        }
        for name in Self.singleElements where root.children(name).count > 1 {
            fail(root.children(name)[1].line, "<\(name)> appears \(root.children(name).count) times; an OPT has one")
        }
        let templateID = root.child("template_id")?.text(of: "value") ?? ""
        if templateID.isEmpty { fail(root.child("template_id")?.line ?? root.line, "template_id/value is mandatory and must not be empty") }
        let concept = root.text(of: "concept") ?? ""
        if concept.isEmpty { fail(root.child("concept")?.line ?? root.line, "concept is mandatory and must not be empty") }
        let language = root.child("language")?.text(of: "code_string") ?? ""
        if language.isEmpty { fail(root.child("language")?.line ?? root.line, "language/code_string is mandatory") }
        var definition: CObject?
        if let element = root.child("definition") {
            definition = object(element, path: "", problems: &problems)
            if let rmType = definition?.rmTypeName, rmType != "COMPOSITION" {
                fail(element.line, "the definition is a \(rmType); Socle takes templates of COMPOSITION")
            }
        } else {
            fail(root.line, "definition is mandatory")
        }
        guard problems.isEmpty, var definition else { throw TemplateError(problems: problems) }
        let ontologies = Ontologies(root, defaultLanguage: language)
        if !ontologies.byArchetype.isEmpty { ontologies.translate(&definition) }
        return OperationalTemplate(
            templateID: templateID, concept: concept, language: language, languages: [language] + ontologies.languages,
            uid: root.child("uid")?.text(of: "value"), definition: definition, annotations: annotations(root),
            defaultValues: defaultValues(root))
    }

    /// `<constraints><attributes><rm_attribute_name>value</rm_attribute_name>
    /// <children><default_value xsi:type="DV_QUANTITY">…</default_value></children>
    /// <differential_path>…</differential_path>`, as the Archetype Designer writes
    /// a template's default values.
    func defaultValues(_ root: XMLElement) -> [(path: String, parts: [String: String])] {
        var result: [(path: String, parts: [String: String])] = []
        for constraints in root.children("constraints") {
            for attribute in constraints.children("attributes") {
                guard let name = attribute.text(of: "rm_attribute_name"), let path = attribute.text(of: "differential_path") else { continue }
                for child in attribute.children("children") {
                    guard let value = child.child("default_value") else { continue }
                    var parts: [String: String] = [:]
                    for key in ["value", "magnitude", "units", "numerator", "denominator"] {
                        if let text = value.text(of: key) { parts[key] = text }
                    }
                    if let code = (value.child("symbol")?.child("defining_code") ?? value.child("defining_code"))?.text(of: "code_string") {
                        parts["code"] = code
                    }
                    if !parts.isEmpty { result.append((path + "/" + name, parts)) }
                }
            }
        }
        return result
    }

    /// The terms of the template's other languages: `<ontology>` (the root
    /// archetype's) and `<component_ontologies>` (each other archetype's), each
    /// `<term_definitions language="…">` holding `<items code="…">` with the
    /// term's `text` and `description`, as the Archetype Designer writes them.
    struct Ontologies {
        var byArchetype: [String: [(language: String, terms: [String: ArchetypeTerm.Translation])]] = [:]
        var languages: [String] = []

        init(_ root: XMLElement, defaultLanguage: String) {
            for ontology in root.children("ontology") + root.children("component_ontologies") {
                guard let archetypeID = ontology.attributes["archetype_id"] else { continue }
                for definitions in ontology.children("term_definitions") {
                    guard let language = definitions.attributes["language"], language != defaultLanguage else { continue }
                    if !languages.contains(language) { languages.append(language) }
                    var terms: [String: ArchetypeTerm.Translation] = [:]
                    for item in definitions.children("items") {
                        guard let code = item.attributes["code"] else { continue }
                        var text = "", description = ""
                        for part in item.children("items") {
                            switch part.attributes["id"] {
                            case "text": text = part.text
                            case "description": description = part.text
                            default: break
                            }
                        }
                        terms[code] = .init(language: language, text: text, description: description)
                    }
                    byArchetype[archetypeID, default: []].append((language, terms))
                }
            }
        }

        /// Each archetype root's terms with their translations.
        func translate(_ object: inout CObject) {
            if let archetypeID = object.archetypeID, let sets = byArchetype[archetypeID] {
                for (code, term) in object.terms {
                    var translated = term
                    translated.translations = sets.compactMap { $0.terms[code] }
                    object.terms[code] = translated
                }
            }
            for a in object.attributes.indices {
                for c in object.attributes[a].children.indices { translate(&object.attributes[a].children[c]) }
            }
        }
    }

    /// `<annotations path="…"><items id="key">value</items></annotations>` as the
    /// OPT schema writes them (StringDictionaryItem); the `<item><key/><value/></item>`
    /// form of RESOURCE_ANNOTATIONS is read too.
    func annotations(_ root: XMLElement) -> [TemplateAnnotation] {
        root.children("annotations").compactMap { annotation -> TemplateAnnotation? in
            guard let path = annotation.attributes["path"] else { return nil }
            var items: [TemplateAnnotation.Item] = []
            for element in annotation.children("items") {
                if let key = element.attributes["id"] {
                    items.append(.init(key: key, value: element.text.trimmingCharacters(in: .whitespacesAndNewlines)))
                }
                for item in element.children("item") {
                    if let key = item.text(of: "key"), let value = item.text(of: "value") { items.append(.init(key: key, value: value)) }
                }
            }
            return items.isEmpty ? nil : TemplateAnnotation(path: path, items: items)
        }
    }

    // MARK: Constraint objects

    func object(_ element: XMLElement, path: String, problems: inout [DecodingProblem]) -> CObject? {
        let rawType = element.text(of: "rm_type_name") ?? ""
        // Generic types are written `DV_INTERVAL<DV_COUNT>`.
        let rmType = RMTypeName.split(rawType).base
        let nodeID = element.text(of: "node_id") ?? ""
        let here = path + (nodeID.isEmpty ? "" : "[\(nodeID)]")
        guard !rmType.isEmpty else {
            problems.append(DecodingProblem(path: "line \(element.line)", message: "\(here.isEmpty ? "the definition" : here) has no rm_type_name"))
            return nil
        }
        let xsiType = element.xsiType ?? "C_ARCHETYPE_ROOT"
        if !Self.primitiveRMTypes.contains(rmType), schema[rmType] == nil, RMTypeHierarchy.subtypes[rmType] == nil {
            problems.append(DecodingProblem(path: "line \(element.line)", message: "\(here.isEmpty ? "/" : here): unknown RM type '\(rawType)'"))
            return nil
        }
        let occurrences = interval(element.child("occurrences"), Int.init) ?? ConstraintInterval(lower: 1, upper: 1)
        var kind = CObject.Kind.complex
        var terms: [String: ArchetypeTerm] = [:]
        switch xsiType {
        case "C_ARCHETYPE_ROOT":
            let id = element.child("archetype_id")?.text(of: "value") ?? ""
            if id.isEmpty { problems.append(DecodingProblem(path: "line \(element.line)", message: "\(here.isEmpty ? "/" : here): archetype root without archetype_id")) }
            kind = .archetypeRoot(archetypeID: id)
            for definition in element.children("term_definitions") {
                guard let code = definition.attributes["code"] else { continue }
                let items = Dictionary(definition.children("items").compactMap { item in item.attributes["id"].map { ($0, item.text) } }, uniquingKeysWith: { a, _ in a })
                terms[code] = ArchetypeTerm(text: items["text"] ?? "", description: items["description"] ?? "", comment: items["comment"])
            }
            // `<term_bindings terminology="SNOMED-CT"><items code="at0004"><value>` a CODE_PHRASE.
            for bindings in element.children("term_bindings") {
                guard let terminology = bindings.attributes["terminology"] else { continue }
                for item in bindings.children("items") {
                    guard let code = item.attributes["code"], terms[code] != nil, let value = item.child("value"),
                        let codeString = value.text(of: "code_string")
                    else { continue }
                    let terminologyID = value.child("terminology_id")?.text(of: "value") ?? terminology
                    terms[code]?.bindings.append(.init(terminology: terminology, terminologyID: terminologyID, code: codeString))
                }
            }
        case "C_COMPLEX_OBJECT": kind = .complex
        case "ARCHETYPE_SLOT":
            kind = .slot(includes: slotPatterns(element.children("includes")), excludes: slotPatterns(element.children("excludes")))
        case "ARCHETYPE_INTERNAL_REF": kind = .internalReference(targetPath: element.text(of: "target_path") ?? "")
        case "C_PRIMITIVE_OBJECT":
            guard let item = element.child("item"), let primitive = primitive(item) else {
                problems.append(DecodingProblem(path: "line \(element.line)", message: "\(here): C_PRIMITIVE_OBJECT without a known item"))
                return nil
            }
            kind = .primitive(primitive)
        case "C_CODE_PHRASE":
            kind = .codePhrase(
                terminology: element.child("terminology_id")?.text(of: "value"),
                codes: element.children("code_list").map { $0.text.trimmingCharacters(in: .whitespacesAndNewlines) })
        case "C_DV_QUANTITY":
            kind = .quantity(
                property: element.child("property").flatMap { p in p.text(of: "code_string").map { "\(p.child("terminology_id")?.text(of: "value") ?? "")::\($0)" } },
                items: element.children("list").map { item in
                    QuantityItem(
                        units: item.text(of: "units") ?? "", magnitude: interval(item.child("magnitude"), Double.init),
                        precision: interval(item.child("precision"), Int.init))
                })
        case "C_DV_ORDINAL":
            kind = .ordinal(
                element.children("list").compactMap { item in
                    guard let value = item.text(of: "value").flatMap(Int.init), let code = item.child("symbol")?.child("defining_code") else { return nil }
                    return OrdinalItem(value: value, terminology: code.child("terminology_id")?.text(of: "value") ?? "local", code: code.text(of: "code_string") ?? "")
                })
        case "CONSTRAINT_REF", "C_CODE_REFERENCE":
            kind = .constraintReference(element.text(of: "reference") ?? "")
        default:
            problems.append(DecodingProblem(path: "line \(element.line)", message: "\(here): unknown constraint type '\(xsiType)'"))
            return nil
        }
        var attributes: [CAttribute] = []
        for attributeElement in element.children("attributes") {
            if let attribute = attribute(attributeElement, of: rmType, path: here, problems: &problems) { attributes.append(attribute) }
        }
        var object = CObject(kind: kind, rmTypeName: rmType, nodeID: nodeID, occurrences: occurrences, attributes: attributes, terms: terms)
        object.genericParameter = RMTypeName.split(rawType).parameter
        object.referenceSetURI = element.text(of: "referenceSetUri")
        object.assumedValue = assumedValue(element, xsiType: xsiType)
        return object
    }

    /// `assumed_value` where the constraint gives one (see `CObject.assumedValue`).
    func assumedValue(_ element: XMLElement, xsiType: String) -> [String: String] {
        var result: [String: String] = [:]
        switch xsiType {
        case "C_PRIMITIVE_OBJECT":
            if let value = element.child("item")?.text(of: "assumed_value") { result["value"] = value }
        case "C_CODE_PHRASE":
            if let code = element.child("assumed_value")?.text(of: "code_string") { result["code"] = code }
        case "C_DV_QUANTITY":
            let assumed = element.child("assumed_value")
            if let magnitude = assumed?.text(of: "magnitude") { result["magnitude"] = magnitude }
            if let units = assumed?.text(of: "units") { result["units"] = units }
        case "C_DV_ORDINAL":
            if let code = element.child("assumed_value")?.child("symbol")?.child("defining_code")?.text(of: "code_string") { result["code"] = code }
        default: break
        }
        return result
    }

    static let primitiveRMTypes: Set<String> = ["STRING", "INTEGER", "REAL", "BOOLEAN", "DATE", "TIME", "DATE_TIME", "DURATION", "ISO8601_DATE", "ISO8601_DATE_TIME", "ISO8601_TIME", "ISO8601_DURATION"]

    func attribute(_ element: XMLElement, of rmType: String, path: String, problems: inout [DecodingProblem]) -> CAttribute? {
        let name = element.text(of: "rm_attribute_name") ?? ""
        guard !name.isEmpty else {
            problems.append(DecodingProblem(path: "line \(element.line)", message: "\(path): attribute without rm_attribute_name"))
            return nil
        }
        if let rmClass = schema[rmType], rmClass.attributes[name] == nil, !Self.functionalAttributes.contains(name) {
            problems.append(DecodingProblem(path: "line \(element.line)", message: "\(path)/\(name): '\(name)' is not an attribute of \(rmType)"))
            return nil
        }
        let isMultiple = element.xsiType == "C_MULTIPLE_ATTRIBUTE"
        let cardinality = element.child("cardinality")
        var children: [CObject] = []
        for child in element.children("children") {
            if let object = object(child, path: path + "/" + name, problems: &problems) { children.append(object) }
        }
        return CAttribute(
            name: name, existence: interval(element.child("existence"), Int.init) ?? ConstraintInterval(lower: 0, upper: 1), isMultiple: isMultiple,
            cardinality: interval(cardinality?.child("interval"), Int.init), isOrdered: cardinality?.text(of: "is_ordered") == "true",
            isUnique: cardinality?.text(of: "is_unique") == "true", children: children)
    }

    /// Attributes an OPT may constrain that are not stored data of RM 1.1.0:
    /// functions (`DV_PROPORTION.is_integral`, `EVENT.offset`), names from
    /// earlier RM releases (`ITEM_TABLE.rotated`, `ELEMENT.null_flavor`), and
    /// the `name` that Template Designer writes on ISM_TRANSITION. Templates
    /// in use carry them; their constraints are kept and not enforced on data.
    static let functionalAttributes: Set<String> = ["is_integral", "offset", "rotated", "null_flavor", "name"]

    func primitive(_ item: XMLElement) -> CPrimitive? {
        switch item.xsiType {
        case "C_STRING": .string(pattern: item.text(of: "pattern"), list: item.children("list").map(\.text))
        case "C_INTEGER": .integer(list: item.children("list").compactMap { Int($0.text.trimmingCharacters(in: .whitespaces)) }, range: interval(item.child("range"), Int.init))
        case "C_REAL": .real(list: item.children("list").compactMap { Double($0.text.trimmingCharacters(in: .whitespaces)) }, range: interval(item.child("range"), Double.init))
        case "C_BOOLEAN": .boolean(trueValid: item.text(of: "true_valid") != "false", falseValid: item.text(of: "false_valid") != "false")
        case "C_DATE": .date(pattern: item.text(of: "pattern"))
        case "C_TIME": .time(pattern: item.text(of: "pattern"))
        case "C_DATE_TIME": .dateTime(pattern: item.text(of: "pattern"))
        case "C_DURATION": .duration(pattern: item.text(of: "pattern"), range: interval(item.child("range"), { $0 }))
        default: nil
        }
    }

    func slotPatterns(_ assertions: [XMLElement]) -> [String] {
        assertions.compactMap { $0.child("expression")?.child("right_operand")?.child("item")?.text(of: "pattern") }
    }

    func interval<Bound: Comparable & Sendable>(_ element: XMLElement?, _ convert: (String) -> Bound?) -> ConstraintInterval<Bound>? {
        guard let element else { return nil }
        let lower = element.text(of: "lower_unbounded") == "true" ? nil : element.text(of: "lower").flatMap(convert)
        let upper = element.text(of: "upper_unbounded") == "true" ? nil : element.text(of: "upper").flatMap(convert)
        return ConstraintInterval(
            lower: lower, upper: upper, lowerIncluded: element.text(of: "lower_included") != "false",
            upperIncluded: element.text(of: "upper_included") != "false")
    }
}
