import FHIR
import Foundation
import Storage

/// Reads the criteria of a conditional interaction or a conditional
/// reference (R4 §http conditional create, update, delete; §Bundle
/// conditional references): `Type?name=value&…`, each parameter one of the
/// resource type's search parameters, all of them to be met.
///
/// Each value is read as a search reads it (`criterion`: token, string with
/// `:exact` and `:contains`, reference with `:identifier` and `:[type]`, uri
/// with `:below` and `:above`, date, number and quantity with their prefixes,
/// composite, `near`, and `:text` and `:of-type` on tokens), since R4 defines a
/// conditional interaction as a search. Comma-separated alternatives and the
/// modifiers a search reads apart (`:missing`, `:not`, `:in`, `:not-in`, and
/// `:below`/`:above` on tokens) are refused with 400 naming them: criteria
/// that are not one plain condition per parameter must not decide what is
/// created or deleted. A search (`FHIRSearchParser`) reads its parameters with
/// the same `criterion`, alternatives included.
enum FHIRCriteriaParser {
    /// `query` without the leading `?`; `type` the resource type it is about.
    static func parse(type: String, query: String) throws -> FHIRCriteria {
        var conditions: [FHIRCriterion] = []
        let parameters = FHIRSchema.r4.searchParameters(for: type)
        for item in query.split(separator: "&") where !item.isEmpty {
            let parts = item.split(separator: "=", maxSplits: 1).map { decode($0) }
            guard parts.count == 2, !parts[1].isEmpty else { throw refusal("'\(item)' is not name=value") }
            let nameParts = parts[0].split(separator: ":", maxSplits: 1).map(String.init)
            let (code, modifier) = (nameParts[0], nameParts.count > 1 ? nameParts[1] : nil)
            guard let definition = parameters.first(where: { $0.code == code }) else {
                throw refusal("'\(code)' is not a search parameter of \(type)")
            }
            let value = parts[1]
            if value.contains(",") { throw refusal("\(code): alternatives (a,b) are not matched in criteria; give one value") }
            conditions.append(try criterion(definition, code: code, modifier: modifier, value: value))
        }
        guard !conditions.isEmpty else { throw refusal("criteria are needed: \(type)?name=value") }
        return FHIRCriteria(type: type, conditions: conditions)
    }

    /// A reference search value (R4 search §reference): `[Type/]id`, a
    /// URL, a version named by `/_history/v` after a relative one or, on
    /// a canonical, by `|v`.
    static func reference(code: String, value: String) -> FHIRCriterion {
        var (value, version): (String, String?) = (value, nil)
        if value.contains("://") {
            // A URL as the index keeps it (an absolute reference with its `/_history/v`); a canonical's version apart.
            guard let bar = value.lastIndex(of: "|") else { return .reference(code: code, type: nil, id: nil, url: value) }
            return .reference(code: code, type: nil, id: nil, url: String(value[..<bar]), version: String(value[value.index(after: bar)...]))
        }
        if let history = value.range(of: "/_history/") {
            version = String(value[history.upperBound...])
            value = String(value[..<history.lowerBound])
        }
        let parts = value.split(separator: "/").map(String.init)
        if parts.count == 2 { return .reference(code: code, type: parts[0], id: parts[1], url: nil, version: version) }
        return .reference(code: code, type: nil, id: value, url: nil, version: version)
    }

    static func criterion(_ definition: SearchParameterDefinition, code: String, modifier: String?, value: String) throws -> FHIRCriterion {
        switch (definition.type, modifier) {
        case (.token, nil):
            return token(code: code, value: value)
        case (.string, nil):
            return .string(code: code, text: SearchIndexer.normalise(unescape(value)), match: .prefix)
        case (.string, "contains"):
            return .string(code: code, text: SearchIndexer.normalise(unescape(value)), match: .contains)
        case (.string, "exact"):
            return .string(code: code, text: unescape(value), match: .exact)
        case (.reference, nil):
            return reference(code: code, value: value)
        case (.uri, nil), (.uri, "below"), (.uri, "above"):
            return .uri(code: code, value: unescape(value), match: URIMatch(rawValue: modifier ?? "exact") ?? .exact)
        case (.token, "text"):
            return .text(code: code, text: SearchIndexer.normalise(unescape(value)))
        case (.token, "of-type"):
            // R4 search §token :of-type: type system|type code|value, all three given.
            let parts = splitUnescaped(value, "|").map(unescape)
            guard parts.count == 3, !parts[1].isEmpty, !parts[2].isEmpty else {
                throw refusal("\(code):of-type is [type system]|[type code]|[value], not '\(value)'")
            }
            return .token(code: code + ":of-type", system: parts[0].isEmpty ? nil : parts[0], noSystem: false, value: parts[1] + "|" + parts[2])
        case (.reference, "identifier"):
            // R4 search §reference :identifier: the Reference's own identifier, as a token.
            guard case .token(_, _, _, _?) = token(code: code, value: value) else { throw refusal("\(code):identifier is [system]|value, not '\(value)'") }
            return token(code: code + ":identifier", value: value)
        case (.reference, let type?) where FHIRSchema.r4.isResourceType(type):
            // R4 search §reference `:[type]`: the id of a resource of that type.
            guard !value.contains("/") else { throw refusal("\(code):\(type) takes an id, not '\(value)'") }
            return .reference(code: code, type: type, id: value, url: nil)
        case (.date, nil):
            return try date(code: code, value: value)
        case (.number, nil):
            let (prefix, number, low, high) = try self.number(code: code, value: value)
            return .number(code: code, prefix: prefix, value: number, low: low, high: high)
        case (.quantity, nil):
            let parts = splitUnescaped(value, "|")
            let (prefix, number, low, high) = try self.number(code: code, value: parts[0])
            let system = parts.count > 2 && !parts[1].isEmpty ? unescape(parts[1]) : nil
            let unit = parts.count > 1 ? parts.last.map(unescape).flatMap { $0.isEmpty ? nil : $0 } : nil
            // R4 search §quantity: a UCUM value is compared in canonical units (`5 mg` finds `0.005 g`).
            if system == SearchIndexer.ucum, let unit, let canonical = SearchIndexer.canonicalUnit(unit) {
                let factor = NSDecimalNumber(decimal: canonical.factor).doubleValue
                return .quantity(
                    code: code, prefix: prefix, value: number * factor, low: low * factor, high: high * factor, system: system, unit: unit,
                    canonicalUnit: canonical.code)
            }
            return .quantity(code: code, prefix: prefix, value: number, low: low, high: high, system: system, unit: unit, canonicalUnit: nil)
        case (.composite, nil):
            return try composite(definition, code: code, value: value)
        case (.special, nil) where code == "near":
            return try near(code: code, value: value)
        case (_, let modifier?):
            throw refusal("\(code): the modifier :\(modifier) is not matched in criteria")
        default:
            throw refusal("\(code): criteria on \(definition.type.rawValue) parameters are not matched yet; use a token, string, reference or uri parameter")
        }
    }

    /// `[system]|[code]`, `|code` (no system), `system|` (any code), `code` (any system) (R4 search §token).
    static func token(code: String, value: String) -> FHIRCriterion {
        let parts = splitUnescaped(value, "|")
        guard parts.count > 1 else { return .token(code: code, system: nil, noSystem: false, value: unescape(value)) }
        let (system, tokenCode) = (parts[0], parts.dropFirst().joined(separator: "|"))
        return .token(
            code: code, system: system.isEmpty ? nil : unescape(system), noSystem: system.isEmpty, value: tokenCode.isEmpty ? nil : unescape(tokenCode))
    }

    /// A token among `system|code` pairs (a value set's codes), by system.
    static func codes(code: String, _ pairs: Set<String>) -> FHIRCriterion {
        var bySystem: [String: [String]] = [:]
        for pair in pairs {
            let parts = pair.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            if parts.count == 2 { bySystem[parts[0], default: []].append(parts[1]) }
        }
        return .codes(code: code, bySystem.mapValues { $0.sorted() })
    }

    /// The distance `near` means when none is given, in kilometres.
    static let defaultNearDistance = 5.0

    /// `latitude|longitude[|distance[|unit]]` (R4 search §Location near):
    /// within `distance` (in `unit`, UCUM, km by default; 5 km when not given).
    static func near(code: String, value: String) throws -> FHIRCriterion {
        let parts = value.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard (2...4).contains(parts.count), let latitude = Double(parts[0]), let longitude = Double(parts[1]), (-90...90).contains(latitude),
            (-180...180).contains(longitude)
        else { throw refusal("\(code) is latitude|longitude|distance|unit (degrees, then a distance in km or another UCUM length), not '\(value)'") }
        var kilometres = defaultNearDistance
        if parts.count > 2, !parts[2].isEmpty {
            guard let distance = Double(parts[2]), distance >= 0 else { throw refusal("\(code): '\(parts[2])' is not a distance") }
            let unit = parts.count > 3 && !parts[3].isEmpty ? parts[3] : "km"
            guard let canonical = SearchIndexer.canonicalUnit(unit), canonical.code == "m" else {
                throw refusal("\(code): '\(unit)' is not a UCUM unit of length (km, m, [mi_i])")
            }
            kilometres = distance * NSDecimalNumber(decimal: canonical.factor).doubleValue / 1000
        }
        return .near(code: code, latitude: latitude, longitude: longitude, kilometres: kilometres)
    }

    /// `a$b` (R4 search §composite): each part read as its component
    /// parameter reads it, under `code$i`.
    static func composite(_ definition: SearchParameterDefinition, code: String, value: String) throws -> FHIRCriterion {
        let parts = splitUnescaped(value, "$")
        guard parts.count == definition.components.count else {
            throw refusal("\(code) takes \(definition.components.count) values joined by $, not '\(value)'")
        }
        let components = try zip(parts, definition.components).enumerated().map { index, pair in
            guard let component = FHIRSchema.r4.searchParameter(url: pair.1.definition) else {
                throw refusal("\(code): component \(pair.1.definition) is not an R4 search parameter")
            }
            return try criterion(component, code: "\(code)$\(index)", modifier: nil, value: pair.0)
        }
        return .composite(code: code, components)
    }

    /// `[prefix]number` (R4 search §number, §Prefixes): the value and the
    /// interval its written precision implies (`100` is [99.5, 100.5)).
    static func number(code: String, value: String) throws -> (FHIRSearchPrefix, Double, Double, Double) {
        let (prefix, text) = prefixed(value)
        guard let number = Double(text), number.isFinite, text.allSatisfy({ "0123456789.-+eE".contains($0) }) else {
            throw refusal("\(code): '\(value)' is not a number, with an optional prefix eq, ne, gt, lt, ge, le, sa, eb, ap")
        }
        let mantissa = text.lowercased().split(separator: "e").first.map(String.init) ?? text
        let decimals = mantissa.split(separator: ".", maxSplits: 1).dropFirst().first?.count ?? 0
        let exponent = Int(text.lowercased().split(separator: "e").dropFirst().first ?? "0") ?? 0
        let half = 0.5 * pow(10, Double(exponent - decimals))
        return (prefix, number, number - half, number + half)
    }

    /// A value of an ordered parameter and its prefix (R4 search §Prefixes), eq when none is written.
    static func prefixed(_ value: String) -> (FHIRSearchPrefix, String) {
        guard value.count > 2, let given = FHIRSearchPrefix(rawValue: String(value.prefix(2))) else { return (.eq, value) }
        return (given, String(value.dropFirst(2)))
    }

    /// `text` split at each `separator` that is not escaped with `\`, kept escaped.
    static func splitUnescaped(_ text: String, _ separator: Character) -> [String] {
        var parts: [String] = []
        var current = ""
        var escaped = false
        for character in text {
            if character == separator && !escaped {
                parts.append(current)
                current = ""
                continue
            }
            escaped = character == "\\" && !escaped
            current.append(character)
        }
        parts.append(current)
        return parts
    }

    /// `[prefix]date` (R4 search §Prefixes, §date): eq when no prefix is given.
    static func date(code: String, value: String) throws -> FHIRCriterion {
        let (prefix, text) = prefixed(value)
        guard let (low, high) = SearchIndexer.searchRange(text) else {
            throw refusal("\(code): '\(value)' is not a date (YYYY, YYYY-MM, YYYY-MM-DD or a dateTime), with an optional prefix eq, ne, gt, lt, ge, le, sa, eb, ap")
        }
        return .date(code: code, prefix: prefix, low: low, high: high)
    }

    /// R4 §Search escaping: `\|`, `\,`, `\$`, `\\`.
    static func unescape(_ text: String) -> String {
        guard text.contains("\\") else { return text }
        var result = ""
        var escaped = false
        for character in text {
            if escaped || character != "\\" {
                result.append(character)
                escaped = false
            } else {
                escaped = true
            }
        }
        return result
    }

    static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    static func refusal(_ message: String) -> ServiceError {
        ServiceError(.badRequest, "invalid criteria: " + message)
    }
}
