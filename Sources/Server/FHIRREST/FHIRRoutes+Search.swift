import FHIR
import Foundation
import Hummingbird
import JSONCore
import OpenEHR
import Services

/// Search (R4 §3.1.1) at type level, `GET /fhir/{type}?…` and `POST
/// /fhir/{type}/_search` with a form-encoded body (the same parameters, the
/// same results), at system level (`GET /fhir?_type=…`, `POST /fhir/_search`)
/// and in a compartment. The answer is a searchset Bundle: the matches in id
/// order, `total`, and `self`, `first` and `next` links whose `_page` names
/// the last id seen, so a page stays valid while data changes.
extension FHIRRoutes {
    func registerSearch(on group: RouterGroup<SocleRequestContext>) {
        group.get(":type") { request, context in try await search(request, context, form: "") }
        // R4 search at system level: `GET /fhir?_type=A,B&…`, `POST /fhir/_search`.
        group.get { request, context in try await search(request, context, form: "", system: true) }
        group.post("_search") { request, context in try await search(request, context, form: try await Self.form(request, limit: bodyLimit), system: true) }
        group.get(":type/:id/$everything") { request, context in try await everything(request, context) }
        // R4 search §Compartments: `Patient/123/Observation?…`.
        group.get(":type/:id/:searched") { request, context in
            let compartment = (try context.parameters.require("type"), try context.parameters.require("id"))
            return try await search(request, context, form: "", type: try context.parameters.require("searched"), compartment: compartment)
        }
        group.post(":type/_search") { request, context in try await search(request, context, form: try await Self.form(request, limit: bodyLimit)) }
    }

    /// The form-encoded body of `POST _search`; 415 for another media type.
    static func form(_ request: Request, limit: Int) async throws -> String {
        let mediaType = request.headers[.contentType]?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard mediaType == "application/x-www-form-urlencoded" else {
            throw HTTPRequestError(status: .unsupportedMediaType, message: "POST _search takes application/x-www-form-urlencoded parameters")
        }
        return String(buffer: try await request.body.collect(upTo: limit))
    }

    /// `type`: the searched type when it is not the route's `type` (a
    /// compartment's); `system`: a search of several types or all (`_type`).
    func search(
        _ request: Request, _ context: SocleRequestContext, form: String, type searched: String? = nil, compartment: (String, String)? = nil,
        system: Bool = false
    ) async throws -> Response {
        let format = try FHIRFormat.requested(request)
        let strict = request.headers[.prefer]?.contains("handling=strict") ?? false
        let query = request.uri.query ?? ""
        let type = system ? "" : try searched ?? context.parameters.require("type")
        var compartment = compartment
        // A token limited to one patient searches that patient's compartment.
        if compartment == nil, !system, let patient = context.patientScope?.patientID, type != "Patient",
            FHIRSchema.r4.compartments["Patient"]?[type] != nil
        {
            compartment = ("Patient", patient)
        }
        let page =
            system
            ? try await service.searchSystem(query: query, form: form, strict: strict)
            : try await service.search(type: type, query: query, form: form, strict: strict, compartment: compartment)
        context.access.touched(page.matches + page.included)
        let path = compartment.map { "\($0.0)/\($0.1)/\(type)" } ?? type
        let base = context.fhirBase
        let entries = Self.searchEntries(page.matches, page.included, base: base, shaping: page.search.shaped)
        var bundle = JSONObject([("resourceType", "Bundle"), ("id", .string(UUIDText.random())), ("type", "searchset")])
        if let total = page.total { bundle["total"] = JSON(total) }
        var links: [JSON] = [Self.searchLink("self", base, path, page.search, after: page.search.page)]
        links.append(Self.searchLink("first", base, path, page.search, after: nil))
        if let previous = page.previous { links.append(Self.searchLink("previous", base, path, page.search, after: previous)) }
        if let next = page.next { links.append(Self.searchLink("next", base, path, page.search, after: next)) }
        bundle["link"] = .array(links)
        bundle["entry"] = .array(entries)
        return .fhir(.ok, .object(bundle), format: format, pretty: request.fhirPretty)
    }

    /// `Patient/{id}/$everything`: a searchset of the patient's record, paged by id.
    func everything(_ request: Request, _ context: SocleRequestContext) async throws -> Response {
        let format = try FHIRFormat.requested(request)
        guard try context.parameters.require("type") == "Patient" else {
            throw ServiceError(.notFound, "$everything is an operation on a Patient: /fhir/Patient/{id}/$everything")
        }
        let id = try context.parameters.require("id")
        let result = try await service.everything(patient: id, query: request.uri.query ?? "")
        context.access.touched(result.matches + result.included)
        let base = context.fhirBase
        let path = "\(base)/Patient/\(id)/$everything?"
        let kept = request.rawQueryItems.filter { $0.0 != "_page" }.map { "\(Self.encoded($0.0))=\(Self.encoded($0.1))" }
        var links: [JSON] = [["relation": "self", "url": .string(path + kept.joined(separator: "&"))]]
        if let next = result.next { links.append(["relation": "next", "url": .string(path + (kept + ["_page=\(Self.encoded(next))"]).joined(separator: "&"))]) }
        let bundle = JSON.object(JSONObject([
            ("resourceType", "Bundle"), ("id", .string(UUIDText.random())), ("type", "searchset"), ("total", JSON(result.total)), ("link", .array(links)),
            ("entry", .array(Self.searchEntries(result.matches, result.included, base: base))),
        ]))
        return .fhir(.ok, bundle, format: format, pretty: request.fhirPretty)
    }

    /// A searchset's entries: the matches, then what was included, each with its `search.mode`.
    static func searchEntries(
        _ matches: [FHIRService.ResourceVersion], _ included: [FHIRService.ResourceVersion], base: String, shaping: (JSON) -> JSON = { $0 }
    ) -> [JSON] {
        func entry(_ version: FHIRService.ResourceVersion, mode: JSON) -> JSON? {
            version.json.map { resource in ["fullUrl": .string(base + "/" + version.reference), "resource": shaping(resource), "search": ["mode": mode]] }
        }
        return matches.compactMap { entry($0, mode: "match") } + included.compactMap { entry($0, mode: "include") }
    }

    /// A link of a search: the parameters applied, `_count`, and `_page` when not the first.
    static func searchLink(_ relation: String, _ base: String, _ path: String, _ search: FHIRSearch, after: String?) -> JSON {
        var items = search.applied
        items.append(("_count", String(search.count)))
        if let after { items.append(("_page", after)) }
        let query = items.map { "\(Self.encoded($0.name))=\(Self.encoded($0.value))" }.joined(separator: "&")
        return ["relation": .string(relation), "url": .string((path.isEmpty ? base : "\(base)/\(path)") + "?" + query)]
    }
}
