import Foundation
import HTTPTypes
import Hummingbird

/// How a composition is written or read: canonical JSON or XML, or one of
/// the simplified formats (ITS-REST 1.1 §Data representation, §Simplified
/// Formats). The 1.1 media types (`application/openehr.wt.flat+json`,
/// `…structured+json`) and the `.schema+json` ones they deprecate, which
/// EHRbase and its clients use, are both read; a response is labelled with
/// the media type the client named.
enum CompositionFormat: Equatable, Sendable {
    case canonical(RMRepresentation)
    case flat(mediaType: String)
    case structured(mediaType: String)

    static let flatMediaType = "application/openehr.wt.flat+json"
    static let structuredMediaType = "application/openehr.wt.structured+json"
    static let flatSchemaMediaType = "application/openehr.wt.flat.schema+json"
    static let structuredSchemaMediaType = "application/openehr.wt.structured.schema+json"

    var isSimplified: Bool { if case .canonical = self { false } else { true } }
    var isStructured: Bool { if case .structured = self { true } else { false } }

    /// The format a media type names (its essence, lower case), or nil.
    static func named(mediaType essence: String) -> CompositionFormat? {
        switch essence {
        case flatMediaType, flatSchemaMediaType: .flat(mediaType: essence)
        case structuredMediaType, structuredSchemaMediaType: .structured(mediaType: essence)
        case _ where Request.isXML(essence): .canonical(.xml)
        case _ where Request.isJSON(essence): .canonical(.json)
        default: nil
        }
    }

    /// The `format` query parameter of EHRbase's clients (`FLAT`,
    /// `STRUCTURED`, `JSON`, `XML`, `CANONICAL`); `unknown` (415 for a
    /// body, 406 for a response) for another value.
    static func parameter(_ request: Request, unknown: HTTPResponse.Status) throws -> CompositionFormat? {
        guard let value = request.queryParameter("format") else { return nil }
        switch value.uppercased() {
        case "FLAT": return .flat(mediaType: flatSchemaMediaType)
        case "STRUCTURED": return .structured(mediaType: structuredSchemaMediaType)
        case "JSON", "CANONICAL", "CANONICAL_JSON": return .canonical(.json)
        case "XML", "CANONICAL_XML": return .canonical(.xml)
        default:
            throw HTTPRequestError(status: unknown, message: "format=\(value) is not a composition format: use JSON, XML, FLAT or STRUCTURED")
        }
    }

    /// The format of a request's body: `format=`, else its Content-Type
    /// (canonical JSON when it has none); 415 for a type that is none of them.
    static func ofBody(_ request: Request) throws -> CompositionFormat {
        if let format = try parameter(request, unknown: .unsupportedMediaType) { return format }
        guard let type = request.headers[.contentType] else { return .canonical(.json) }
        guard let format = named(mediaType: Request.essence(type)) else {
            throw HTTPRequestError(
                status: .unsupportedMediaType,
                message: "Content-Type '\(type)' is not a composition format: send application/json, application/xml, \(flatMediaType) or \(structuredMediaType)")
        }
        return format
    }

    /// The format a response is written in: `format=`, else the one Accept
    /// ranks highest (a specific range before a wildcard on a tie), else
    /// `fallback` when Accept names no format or only wildcards. 406 when
    /// Accept excludes every format.
    static func accepted(_ request: Request, fallback: CompositionFormat) throws -> CompositionFormat {
        if let format = try parameter(request, unknown: .notAcceptable) { return format }
        guard let accept = request.headers[.accept], !accept.trimmingCharacters(in: .whitespaces).isEmpty else { return fallback }
        var best: (format: CompositionFormat, q: Double, order: Int)?
        for (index, part) in accept.split(separator: ",").enumerated() {
            let pieces = part.split(separator: ";")
            let range = Request.essence(pieces.first ?? "")
            let q = pieces.dropFirst().compactMap { parameter -> Double? in
                let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                return pair.count == 2 && pair[0].lowercased() == "q" ? Double(pair[1]) : nil
            }.first ?? 1
            guard q > 0 else { continue }
            let candidate: (CompositionFormat, Int)
            if range.isEmpty || range == "*/*" || range == "application/*" {
                candidate = (fallback, Int.max)
            } else if let format = named(mediaType: range) {
                candidate = (format, index)
            } else if range == "text/*" {
                candidate = (.canonical(.xml), index)
            } else {
                continue
            }
            if best.map({ q > $0.q || (q == $0.q && candidate.1 < $0.order) }) ?? true { best = (candidate.0, q, candidate.1) }
        }
        guard let best else {
            throw HTTPRequestError(
                status: .notAcceptable,
                message: "a composition is served as application/json, application/xml, \(flatMediaType) or \(structuredMediaType), which Accept '\(accept)' excludes")
        }
        return best.format
    }
}

extension Request {
    /// The template of a simplified-format commit: `openehr-template-id`
    /// (ITS-REST 1.1 §HTTP headers; `openEHR-TEMPLATE_ID` before it), else
    /// EHRbase's `templateId` query parameter.
    var templateIDHeader: String? {
        for name in [HTTPField.Name.templateID, .legacyTemplateID] {
            if let value = headers[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty { return value }
        }
        return queryParameter("templateId")
    }
}
