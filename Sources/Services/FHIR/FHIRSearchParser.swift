import FHIR
import Foundation
import JSONCore
import Storage

/// A search of one resource type (R4 §3.1.1 Search): the criteria every
/// match meets, the page asked for, and the parameters applied (for the
/// `self` link) or left out.
public struct FHIRSearch: Sendable {
    public enum Total: String, Sendable { case none, estimate, accurate }

    public var criteria: FHIRCriteria
    /// `_count`: matches a page holds (0: the total only).
    public var count: Int
    /// `_page`: the cursor of the last match of the previous page, or
    /// (`<cursor`, `backward`) of the first match of the next one.
    public var after: String?
    public var backward = false
    /// `_page` as a link writes it.
    public var page: String? { after.map { (backward ? "<" : "") + $0 } }
    /// `_total` (R4 search §Total number of matching resources); `_summary=count` asks for the total alone.
    public var total: Total
    /// The parameters applied, as `name=value` pairs in the order given.
    public var applied: [(name: String, value: String)]
    /// The parameters left out (unknown, or not supported yet).
    public var ignored: [String]
    /// `_sort` (R4 search §Sorting), in order.
    public var sort: [FHIRSortKey] = []
    /// `_elements` (R4 search §Summary and elements): the top-level elements wanted.
    public var elements: Set<String>?
    /// `_summary=text` or `data` (R4 search §Summary): what each resource keeps.
    public var summary: Summary?

    public enum Summary: String, Sendable { case `true`, text, data }

    /// A resource as the search asks to see it: with `_elements`, those
    /// elements and the mandatory ones; with `_summary=text`, its text and
    /// mandatory elements; with `_summary=true`, the elements R4 marks as
    /// summary and the mandatory ones; with `_summary=data`, all but its text. A
    /// resource cut down is tagged SUBSETTED (R4 §Tags: v3-ObservationValue).
    public func shaped(_ resource: JSON) -> JSON {
        guard elements != nil || summary != nil, case .object(let object) = resource else { return resource }
        let type = object["resourceType"]?.stringValue ?? ""
        let definitions = FHIRSchema.r4.type(type)?.elements ?? []
        let mandatory = Set(definitions.filter { $0.min > 0 }.map(\.name))
        let summaryElements = Set(definitions.filter(\.isSummary).map(\.name))
        let always: Set<String> = ["resourceType", "id", "meta"]
        var kept = JSONObject()
        for member in object.members {
            let key = member.key.hasPrefix("_") ? String(member.key.dropFirst()) : member.key
            // A choice's member (`deceasedBoolean`) is its element's (`deceased`).
            let name = definitions.first { $0.isChoice && $0.choiceKeys.contains { $0.key == key } }?.name ?? key
            let keep: Bool =
                switch summary {
                case .true: always.contains(name) || mandatory.contains(name) || summaryElements.contains(name)
                case .text: always.contains(name) || mandatory.contains(name) || name == "text"
                case .data: name != "text"
                case nil: always.contains(name) || mandatory.contains(name) || elements?.contains(name) == true
                }
            if keep { kept[member.key] = member.value }
        }
        guard kept.members.count < object.members.count else { return resource }
        var meta = kept["meta"]?.objectValue ?? JSONObject()
        var tags = meta["tag"]?.arrayValue ?? []
        tags.append(["system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"])
        meta["tag"] = .array(tags)
        kept["meta"] = .object(meta)
        return .object(kept)
    }
    /// `_include` and `_revinclude` (R4 search §Including other resources).
    public var includes: [Include] = []
    public var reverseIncludes: [Include] = []

    /// `Source:parameter[:Target]`: the references of the source type's
    /// reference parameters (all of them for `*`), to the target type when named.
    /// `:iterate` applies it to what the includes found too (R4 search
    /// §Including other resources), as far as `maximumIterations` rounds.
    public struct Include: Sendable {
        /// Nil for `_revinclude=*` (any type).
        public var sourceType: String?
        /// Nil for every reference parameter.
        public var codes: [String]?
        public var targetType: String?
        public var iterate = false
    }

    public static let maximumIterations = 4

    public static let defaultCount = 20
    public static let maximumCount = 1000
}

/// Reads a search's query (R4 §3.1.1): each search parameter of the type
/// through `FHIRCriteriaParser.criterion` (token, string with `:exact` and
/// `:contains`, reference, uri, date, number and quantity with prefixes,
/// `_id`), `:missing` on any of them and `:not` on tokens, `a,b` as alternatives and
/// a repeated parameter as one more condition (R4 search: "OR" and "AND"
/// search parameters); the result parameters `_count`, `_total`, `_summary=count`, `_page`, `_format` and
/// `_pretty`. A parameter it does not know or support is left out and
/// reported, or refused with 400 when `strict` (`Prefer: handling=strict`,
/// R4 search §Handling errors).
enum FHIRSearchParser {
    static let formatParameters: Set<String> = ["_format", "_pretty"]

    /// The result parameters (R4 search §Modifying search results), read here rather than matched.
    static let resultParameters: Set<String> = [
        "_count", "_page", "_total", "_sort", "_include", "_revinclude", "_include:iterate", "_revinclude:iterate", "_summary", "_elements",
    ]

    /// `system`: a system-level search, whose includes may name any type.
    /// What the terminology modifiers read (R4 search §token `:in`,
    /// `:not-in`, `:below`, `:above`): a value set's `system|code` by its
    /// URL, the codes below or above one in its code system's hierarchy;
    /// nil when Socle cannot tell.
    struct Terminology: Sendable {
        var valueSet: @Sendable (String) -> Set<String>?
        var hierarchy: @Sendable (_ system: String, _ code: String, _ below: Bool) -> Set<String>?

        /// R4's own value sets; no hierarchy.
        static let base = Terminology(valueSet: { FHIRSchema.r4.valueSets[String($0.split(separator: "|").first ?? "")] }, hierarchy: { _, _, _ in nil })

        init(valueSet: @escaping @Sendable (String) -> Set<String>?, hierarchy: @escaping @Sendable (String, String, Bool) -> Set<String>?) {
            self.valueSet = valueSet
            self.hierarchy = hierarchy
        }

        /// The value sets and code systems a registry holds (and R4's).
        init(_ registry: ProfileRegistry) {
            self.init(valueSet: { registry.codes(of: $0) }, hierarchy: { registry.codes(related: $1, in: $0, below: $2) })
        }
    }

    static func parse(
        type: String, query: [(name: String, value: String)], strict: Bool, system: Bool = false, terminology: Terminology = .base
    ) throws -> FHIRSearch {
        var search = FHIRSearch(
            criteria: FHIRCriteria(type: type, conditions: []), count: FHIRSearch.defaultCount, after: nil, total: .accurate, applied: [], ignored: [])
        for (name, value) in query where !formatParameters.contains(name) {
            switch name {
            case "_count":
                guard let count = Int(value), (0...FHIRSearch.maximumCount).contains(count) else {
                    throw FHIRCriteriaParser.refusal("_count must be a whole number from 0 to \(FHIRSearch.maximumCount), not '\(value)'")
                }
                search.count = count
            case "_page":
                search.backward = value.hasPrefix("<")
                search.after = search.backward ? String(value.dropFirst()) : value
            case "_total":
                guard let total = FHIRSearch.Total(rawValue: value) else { throw FHIRCriteriaParser.refusal("_total is none, estimate or accurate, not '\(value)'") }
                search.total = total
                search.applied.append((name, value))
            case "_sort":
                search.sort = try Self.sort(value, type: type)
                search.applied.append((name, value))
            case "_include", "_revinclude", "_include:iterate", "_revinclude:iterate":
                let reverse = name.hasPrefix("_revinclude")
                var include = try Self.include(value, reverse: reverse, searched: type, iterate: system || name.hasSuffix(":iterate"))
                include.iterate = name.hasSuffix(":iterate")
                if reverse { search.reverseIncludes.append(include) } else { search.includes.append(include) }
                search.applied.append((name, value))
            case "_summary" where value == "count":
                search.count = 0
                search.applied.append((name, value))
            case "_summary" where ["true", "text", "data", "false"].contains(value):
                search.summary = FHIRSearch.Summary(rawValue: value)
                search.applied.append((name, value))
            case "_list":
                // R4 search §_list: the resources a List names as its items (List?item), by the List's id.
                guard !value.isEmpty else { throw FHIRCriteriaParser.refusal("_list needs the id of a List") }
                let lists = alternatives(of: value).map { id in
                    // At system level, an item of any type.
                    FHIRCriterion.has(type: "List", code: "item", target: system ? nil : type, .token(code: "_id", system: nil, noSystem: false, value: id))
                }
                search.criteria.conditions.append(lists.count == 1 ? lists[0] : .anyOf(lists))
                search.applied.append((name, value))
            case "_elements":
                search.elements = Set(value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
                search.applied.append((name, value))
            default:
                guard let condition = try condition(name: name, value: value, type: type, terminology: terminology) else {
                    if strict { throw FHIRCriteriaParser.refusal("'\(name)' is not a search parameter of \(type) that this server supports") }
                    search.ignored.append(name)
                    continue
                }
                search.criteria.conditions.append(condition)
                search.applied.append((name, value))
            }
        }
        return search
    }

    /// `Source:parameter[:Target]` or `*` (every reference parameter of the
    /// searched type): for `_include` the source is the searched type; 400 for
    /// a parameter that is not one of the source type's references.
    static func include(_ value: String, reverse: Bool, searched: String, iterate: Bool = false) throws -> FHIRSearch.Include {
        if value == "*" {
            // Every reference of the searched type; reversed, every reference of any type to a match.
            return FHIRSearch.Include(sourceType: reverse ? nil : searched, codes: reverse ? nil : referenceCodes(of: searched), targetType: nil)
        }
        let parts = value.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard (2...3).contains(parts.count), FHIRService.knownTypes.contains(parts[0]) else {
            throw FHIRCriteriaParser.refusal("\(reverse ? "_revinclude" : "_include") is Type:parameter[:Target], not '\(value)'")
        }
        if !reverse, !iterate, parts[0] != searched {
            throw FHIRCriteriaParser.refusal("_include names the searched type's references: \(searched):…, not '\(value)'")
        }
        let codes = parts[1] == "*" ? referenceCodes(of: parts[0]) : [parts[1]]
        guard parts[1] == "*" || referenceCodes(of: parts[0]).contains(parts[1]) else {
            throw FHIRCriteriaParser.refusal("'\(parts[1])' is not a reference parameter of \(parts[0])")
        }
        if parts.count == 3, !FHIRService.knownTypes.contains(parts[2]) { throw FHIRCriteriaParser.refusal("'\(parts[2])' is not a resource type") }
        return FHIRSearch.Include(sourceType: parts[0], codes: codes, targetType: parts.count == 3 ? parts[2] : nil)
    }

    /// `_sort=a,-b` (R4 search §Sorting): each a search parameter of the type
    /// that has one value to order by (not composite or special), `-` for
    /// descending; 400 otherwise.
    static func sort(_ value: String, type: String) throws -> [FHIRSortKey] {
        let parameters = FHIRSchema.r4.searchParameters(for: type)
        return try value.split(separator: ",").map { item in
            let descending = item.hasPrefix("-")
            let code = String(descending ? item.dropFirst() : item)
            if code == "_id" { return FHIRSortKey(code: code, kind: .id, descending: descending) }
            guard let definition = parameters.first(where: { $0.code == code }) else {
                throw FHIRCriteriaParser.refusal("_sort: '\(code)' is not a search parameter of \(type)")
            }
            let kind: FHIRSortKey.Kind
            switch definition.type {
            case .date: kind = .date
            case .number, .quantity: kind = .number
            case .string, .token, .uri: kind = .text
            case .reference: kind = .reference
            case .composite, .special: throw FHIRCriteriaParser.refusal("_sort: \(code) is a \(definition.type.rawValue) parameter, which has no order")
            }
            return FHIRSortKey(code: code, kind: kind, descending: descending)
        }
    }

    static func referenceCodes(of type: String) -> [String] {
        FHIRSchema.r4.searchParameters(for: type).filter { $0.type == .reference }.map(\.code)
    }

    /// The condition of `name=value` on resources of `type`; nil when the
    /// name is not a supported parameter of the type (or its modifier is not
    /// supported); 400 when the value is wrong. Chained names and `_has` go
    /// through the types they name, one level each.
    static func condition(name: String, value: String, type: String, terminology: Terminology = .base) throws -> FHIRCriterion? {
        if name.hasPrefix("_has:") { return try reverseChain(name: name, value: value, type: type, terminology: terminology) }
        if let dot = name.firstIndex(of: "."), !name.hasPrefix("_") { return try chain(name: name, at: dot, value: value, type: type, terminology: terminology) }
        let parameters = FHIRSchema.r4.searchParameters(for: type)
        let nameParts = name.split(separator: ":", maxSplits: 1).map(String.init)
        let (code, modifier) = (nameParts[0], nameParts.count > 1 ? nameParts[1] : nil)
        guard let definition = parameters.first(where: { $0.code == code }), supports(definition, modifier: modifier) else { return nil }
        guard !value.isEmpty else { throw FHIRCriteriaParser.refusal("\(name) needs a value") }
        if modifier == "missing" {
            // R4 search §missing: true, no value for the parameter; false, some value.
            guard let missing = ["true": true, "false": false][value] else { throw FHIRCriteriaParser.refusal("\(name) is true or false, not '\(value)'") }
            // A composite's values are its components' rows.
            let present = FHIRCriterion.present(code: definition.type == .composite ? code + "$0" : code)
            return missing ? .not(present) : present
        }
        if modifier == "in" || modifier == "not-in" {
            // R4 search §token :in, :not-in: a code of the value set (of none of it), for value sets Socle can expand.
            let sets = try alternatives(of: value).map { url -> FHIRCriterion in
                guard let codes = terminology.valueSet(url) else { throw FHIRCriteriaParser.refusal("\(name): the value set \(url) is not one this server holds and can expand") }
                return FHIRCriteriaParser.codes(code: code, codes)
            }
            let condition = sets.count == 1 ? sets[0] : .anyOf(sets)
            return modifier == "in" ? condition : .not(condition)
        }
        if definition.type == .token, modifier == "below" || modifier == "above" {
            // R4 search §token :below, :above: the code and those under (over) it, in a code system Socle holds.
            let codes = try alternatives(of: value).map { item -> FHIRCriterion in
                let parts = FHIRCriteriaParser.splitUnescaped(item, "|").map(FHIRCriteriaParser.unescape)
                guard parts.count == 2, !parts[0].isEmpty, let related = terminology.hierarchy(parts[0], parts[1], modifier == "below") else {
                    throw FHIRCriteriaParser.refusal("\(name): '\(item)' is not system|code of a code system this server holds with its hierarchy")
                }
                return FHIRCriteriaParser.codes(code: code, Set(related.map { parts[0] + "|" + $0 }))
            }
            return codes.count == 1 ? codes[0] : .anyOf(codes)
        }
        let negated = modifier == "not"
        let alternatives = try alternatives(of: value).map {
            try FHIRCriteriaParser.criterion(definition, code: code, modifier: negated ? nil : modifier, value: $0)
        }
        let condition = alternatives.count == 1 ? alternatives[0] : .anyOf(alternatives)
        // R4 search §token `:not`: no value of the resource matches (a resource without one included).
        return negated ? .not(condition) : condition
    }

    /// `code[:Target].rest=value` (R4 search §Chained parameters): the
    /// target is the one named, else the only one of the reference's targets
    /// that has the next parameter (400 when several have it).
    static func chain(name: String, at dot: String.Index, value: String, type: String, terminology: Terminology) throws -> FHIRCriterion? {
        let head = name[..<dot].split(separator: ":", maxSplits: 1).map(String.init)
        let rest = String(name[name.index(after: dot)...])
        guard let definition = FHIRSchema.r4.searchParameters(for: type).first(where: { $0.code == head[0] }), definition.type == .reference else {
            return nil
        }
        let next = String(rest.prefix { $0 != ":" && $0 != "." })
        let candidates = head.count > 1 ? [head[1]] : definition.targets.filter { target in
            FHIRSchema.r4.searchParameters(for: target).contains { $0.code == next }
        }
        guard candidates.count == 1, let target = candidates.first, FHIRService.knownTypes.contains(target) else {
            throw FHIRCriteriaParser.refusal("\(name): name the type the chain goes through (\(head[0]):Type.\(rest)); it may be \(candidates.joined(separator: ", "))")
        }
        return try condition(name: rest, value: value, type: target, terminology: terminology).map { .chain(code: head[0], target: target, $0) }
    }

    /// `_has:Type:reference:rest=value` (R4 search §Reverse chaining): a
    /// resource of Type whose `reference` names the resource meets `rest=value`
    /// (itself maybe a `_has`).
    static func reverseChain(name: String, value: String, type: String, terminology: Terminology) throws -> FHIRCriterion? {
        let parts = name.dropFirst("_has:".count).split(separator: ":", maxSplits: 2).map(String.init)
        guard parts.count == 3, FHIRService.knownTypes.contains(parts[0]) else {
            throw FHIRCriteriaParser.refusal("\(name): _has is _has:Type:reference:parameter")
        }
        guard let link = FHIRSchema.r4.searchParameters(for: parts[0]).first(where: { $0.code == parts[1] }), link.type == .reference,
            link.targets.isEmpty || link.targets.contains(type)
        else { throw FHIRCriteriaParser.refusal("\(name): '\(parts[1])' is not a reference of \(parts[0]) to \(type)") }
        return try condition(name: parts[2], value: value, type: parts[0], terminology: terminology).map {
            .has(type: parts[0], code: parts[1], target: type, $0)
        }
    }

    /// R4 search §Modifiers, by parameter type: `:missing` on all; `:exact`
    /// and `:contains` (string); `:not`, `:text`, `:of-type` (token);
    /// `:below`, `:above` (uri); `:identifier` and `:[type]` (reference); of
    /// the special parameters, `near`.
    static func supports(_ definition: SearchParameterDefinition, modifier: String?) -> Bool {
        switch (definition.type, modifier) {
        case (.special, nil): definition.code == "near"
        case (.special, _): false
        case (_, nil), (_, "missing"), (.string, "exact"), (.string, "contains"), (.token, "not"), (.token, "text"), (.token, "of-type"),
            (.uri, "below"), (.uri, "above"), (.reference, "identifier"), (.token, "in"), (.token, "not-in"),
            (.token, "below"), (.token, "above"):
            true
        case (.reference, let type?): FHIRSchema.r4.isResourceType(type)
        default: false
        }
    }

    /// `a,b` split where the comma is not escaped (`\,`), each kept escaped for the parameter's own reading.
    static func alternatives(of value: String) -> [String] { FHIRCriteriaParser.splitUnescaped(value, ",") }

    /// The pairs of a query string or a form-encoded body, decoded.
    static func pairs(_ text: String) -> [(name: String, value: String)] {
        text.split(separator: "&").compactMap { item in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { FHIRCriteriaParser.decode($0) }
            guard let name = parts.first, !name.isEmpty else { return nil }
            return (name, parts.count > 1 ? parts[1] : "")
        }
    }
}

extension FHIRService {
    /// The search parameters of `type` that searches match (R4 definitions
    /// of every type but composite and special).
    public static func supportedSearchParameters(of type: String) -> [SearchParameterDefinition] {
        FHIRSchema.r4.searchParameters(for: type).filter { FHIRSearchParser.supports($0, modifier: nil) }
    }

    /// The condition of being in a compartment: the compartment's resource
    /// itself, or a reference to it through a parameter that links the type
    /// (R4 CompartmentDefinition); 404 for a compartment or type it does not link.
    static func membership(of type: String, in compartment: (type: String, id: String)) throws -> FHIRCriterion {
        try requireID(compartment.id)
        guard let byType = FHIRSchema.r4.compartments[compartment.type] else {
            throw ServiceError(.notFound, "\(compartment.type) is not a compartment (R4: Patient, Encounter, RelatedPerson, Practitioner, Device)")
        }
        if type == compartment.type { return .token(code: "_id", system: nil, noSystem: false, value: compartment.id) }
        guard let parameters = byType[type], !parameters.isEmpty else {
            throw ServiceError(.notFound, "a \(type) is not in the \(compartment.type) compartment")
        }
        let links = parameters.map { FHIRCriterion.reference(code: $0, type: compartment.type, id: compartment.id, url: nil) }
        return links.count == 1 ? links[0] : .anyOf(links)
    }

    /// One page of a search (R4 §3.1.1): the matches' latest versions in id
    /// order, the total when asked for, and the id to continue after when there are more.
    public struct SearchPage: Sendable {
        public var search: FHIRSearch
        public var matches: [ResourceVersion]
        /// What `_include` and `_revinclude` add (not matches themselves).
        public var included: [ResourceVersion] = []
        public var total: Int?
        public var next: String?
        /// `_page` of the page before this one (with its `<`), when there is one.
        public var previous: String?
    }

    /// Searches `type` with the parameters of a query string (and of a
    /// form-encoded body, for `POST _search`), in one statement for the
    /// page and one for the total; within a compartment (`Patient/123`) when
    /// given: the resources the compartment definition links to it (R4
    /// search §Compartments), a resource of the compartment's own type being itself.
    public func search(type: String, query: String, form: String = "", strict: Bool = false, compartment: (type: String, id: String)? = nil)
        async throws -> SearchPage
    {
        try await run(try prepared(type: type, query: query, form: form, strict: strict, compartment: compartment))
    }

    /// A search of several types, or of all (R4 search §system level, `GET
    /// /fhir?_type=A,B&…`): the parameters every searched type has (the
    /// `Resource` ones when `_type` is not given), others ignored or, with
    /// `strict`, refused.
    public func searchSystem(query: String, form: String = "", strict: Bool = false) async throws -> SearchPage {
        try await run(try preparedSystem(query: query, form: form, strict: strict))
    }

    func preparedSystem(query: String, form: String = "", strict: Bool = false) throws -> FHIRSearch {
        let pairs = FHIRSearchParser.pairs(query) + FHIRSearchParser.pairs(form)
        let types = pairs.filter { $0.name == "_type" }.flatMap { $0.value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        for type in types where !Self.knownTypes.contains(type) { throw FHIRCriteriaParser.refusal("_type: '\(type)' is not a resource type (FHIR R4)") }
        // The parameters of all resources are those of any one type: Basic stands for them.
        let parsing = types.isEmpty ? ["Basic"] : types
        var kept: [(name: String, value: String)] = []
        var ignored: [String] = []
        for pair in pairs where pair.name != "_type" {
            var everywhere = true
            if !FHIRSearchParser.resultParameters.contains(pair.name), !FHIRSearchParser.formatParameters.contains(pair.name) {
                // Without _type, only the parameters of every resource (`_id`, `_lastUpdated`, …).
                everywhere = !types.isEmpty || pair.name.hasPrefix("_")
                // `_list` is read with the result parameters, for any type.
                for type in parsing where everywhere && pair.name != "_list" {
                    everywhere = try FHIRSearchParser.condition(name: pair.name, value: pair.value, type: type, terminology: FHIRSearchParser.Terminology(profiles.registry)) != nil
                }
            }
            if everywhere { kept.append(pair) } else { ignored.append(pair.name) }
        }
        if strict, let first = ignored.first { throw FHIRCriteriaParser.refusal("'\(first)' is not a search parameter of every type searched (\(types.isEmpty ? "all" : types.joined(separator: ",")))") }
        var search = try FHIRSearchParser.parse(type: parsing[0], query: kept, strict: strict, system: true, terminology: FHIRSearchParser.Terminology(profiles.registry))
        search.criteria.types = types
        search.ignored += ignored
        if !types.isEmpty { search.applied.insert(("_type", types.joined(separator: ",")), at: 0) }
        return search
    }

    /// One page of a prepared search, its total and what it includes.
    func run(_ search: FHIRSearch) async throws -> SearchPage {
        guard search.count > 0 else {
            return SearchPage(search: search, matches: [], total: search.total == .none ? nil : try await self.search.count(search.criteria), next: nil)
        }
        let rows: [(id: String, cursor: String)]
        do {
            rows = try await self.search.search(
                search.criteria, sort: search.sort, after: search.after, backward: search.backward, limit: search.count + 1)
        } catch let error as StoreError {
            throw ServiceError(error)
        }
        // One row more than the page says there is more that way (before it, going backward).
        let more = rows.count > search.count
        let kept = search.backward ? Array(rows.suffix(search.count)) : Array(rows.prefix(search.count))
        let page = kept.map(\.id)
        // What the page includes is found from the index first, so that the
        // documents of both come in one read (a round trip less on PostgreSQL).
        let includedIDs = try await included(search, page: page)
        let latest = try await latestResources(page + includedIDs)
        let matches = page.compactMap { latest[$0] }.filter { !$0.isDeleted }
        let next = (search.backward || more) ? kept.last?.cursor : nil
        let previous = (search.backward ? more : search.after != nil) ? kept.first.map { "<" + $0.cursor } : nil
        // A first page that holds every match is its own total (no second statement).
        let total: Int? =
            switch search.total {
            case .none: nil
            case _ where search.after == nil && next == nil: rows.count
            default: try await self.search.count(search.criteria)
            }
        var result = SearchPage(search: search, matches: matches, total: total, next: next)
        result.previous = previous
        result.included = includedIDs.compactMap { latest[$0] }.filter { !$0.isDeleted }
        return result
    }

    /// The search a query asks for, within a compartment when given.
    func prepared(type: String, query: String, form: String = "", strict: Bool = false, compartment: (type: String, id: String)? = nil) throws -> FHIRSearch {
        try Self.requireType(type)
        var search = try FHIRSearchParser.parse(
            type: type, query: FHIRSearchParser.pairs(query) + FHIRSearchParser.pairs(form), strict: strict, terminology: FHIRSearchParser.Terminology(profiles.registry))
        if let compartment { search.criteria.conditions.insert(try Self.membership(of: type, in: compartment), at: 0) }
        return search
    }

    /// The statements a search runs: its page (none for `_count=0`) and its
    /// count (none for `_total=none`), as `socle bench fhir-search` runs them alone.
    public func statements(type: String, query: String, compartment: (type: String, id: String)? = nil) throws -> (page: RenderedQuery?, count: RenderedQuery?) {
        try Self.statements(of: try prepared(type: type, query: query, compartment: compartment))
    }

    static func statements(of search: FHIRSearch) throws -> (page: RenderedQuery?, count: RenderedQuery?) {
        let page =
            search.count > 0
            ? try FHIRSearchStore.statement(search.criteria, sort: search.sort, after: search.after, backward: search.backward, limit: search.count + 1)
            : nil
        return (page, search.total == .none ? nil : FHIRSearchStore.countStatement(search.criteria))
    }

    /// An administrator's explain of a search: the parameters applied and
    /// left out, and for each statement its SQL, the values bound to it and
    /// the database's plan.
    public func explain(type: String, query: String) async throws -> JSON {
        let search = try prepared(type: type, query: query)
        let (page, count) = try Self.statements(of: search)
        func described(_ statement: RenderedQuery?) async throws -> JSON {
            guard let statement else { return nil }
            return [
                "sql": .string(statement.sql), "parameters": .array(statement.boundValues),
                "database_plan": .array(try await self.search.plan(of: statement).map(JSON.string)),
            ]
        }
        return [
            "resourceType": .string(type), "dialect": .string(store.kind.rawValue),
            "applied": .array(search.applied.map { .string($0.name + "=" + $0.value) }), "ignored": .array(search.ignored.map(JSON.string)),
            "page": try await described(page), "count": try await described(count),
        ]
    }

    /// The ids of the resources `_include` and `_revinclude` add to a page, each once,
    /// the page's own aside: every include applied to the page, then the
    /// `:iterate` ones to what the previous round added, until a round adds
    /// nothing or after `FHIRSearch.maximumIterations` rounds.
    func included(_ search: FHIRSearch, page: [String]) async throws -> [String] {
        guard !page.isEmpty, !(search.includes.isEmpty && search.reverseIncludes.isEmpty) else { return [] }
        var seen = Set(page)
        var added: [String] = []
        var frontier = page
        for round in 0...FHIRSearch.maximumIterations where !frontier.isEmpty {
            var wanted: [String] = []
            for include in search.includes where round == 0 || include.iterate {
                let sources = include.sourceType.map { type in frontier.filter { $0.hasPrefix(type + "/") } } ?? frontier
                wanted += try await self.search.referenced(from: sources, codes: include.codes, targetType: include.targetType)
            }
            for include in search.reverseIncludes where round == 0 || include.iterate {
                wanted += try await self.search.referring(type: include.sourceType, codes: include.codes, to: frontier)
            }
            frontier = Array(Set(wanted).subtracting(seen)).sorted()
            seen.formUnion(frontier)
            added += frontier
        }
        return added.sorted()
    }
}
