import FHIR
import Foundation
import HTTPTypes
import Hummingbird
import JSONCore
import OpenEHR
import Services
import Storage

/// FHIR R4 RESTful interactions (R4 §http) under `/fhir`: create, read,
/// vread, update (also as create), patch, delete, history at instance, type
/// and system level. What is served is declared in `FHIRCapabilities`, from
/// which `/fhir/metadata` is written.
struct FHIRRoutes {
    let service: FHIRService
    let bodyLimit: Int

    func register(on group: RouterGroup<SocleRequestContext>) {
        group.post { request, context -> Response in
            let format = try FHIRFormat.requested(request)
            let bundle = try await Self.requiredBody(request, limit: bodyLimit)
            try AccessPolicy.requireEntries(context.user, of: bundle)
            let patients = FHIRService.patients(inBundle: bundle)
            try context.patientScope?.require(patients)
            context.access.patients(patients)
            let response = try await service.process(bundle: bundle, committal: Self.committal(context))
            return Response.fhir(.ok, response, format: format, pretty: request.fhirPretty)
        }
        group.post(":type") { request, context in try await create(request, context) }
        group.put(":type") { request, context in try await conditionalUpdate(request, context) }
        group.delete(":type") { request, context in try await conditionalDelete(request, context) }
        group.get(":type/:id") { request, context in try await read(request, context) }
        group.put(":type/:id") { request, context in try await update(request, context) }
        group.patch(":type/:id") { request, context in try await patch(request, context) }
        group.delete(":type/:id") { request, context in try await delete(request, context) }
        group.get(":type/:id/_history/:vid") { request, context in try await vread(request, context) }
        group.get(":type/:id/_history") { request, context in
            let (type, id) = (try context.parameters.require("type"), try context.parameters.require("id"))
            return try await history(request, context, HistoryLevel.instance(type: type, id: id))
        }
        group.get(":type/_history") { request, context in try await history(request, context, .type(try context.parameters.require("type"))) }
        group.get("_history") { request, context in try await history(request, context, .system) }
        registerValidate(on: group)
        registerSearch(on: group)
    }

    // MARK: Interactions

    func create(_ request: Request, _ context: SocleRequestContext) async throws -> Response {
        let format = try FHIRFormat.requested(request)
        let type = try context.parameters.require("type")
        let resource = try await Self.requiredBody(request, limit: bodyLimit)
        try Self.requireInScope(resource, context)
        if let criteria = request.headers[.ifNoneExist], !criteria.isEmpty {
            let (version, created) = try await service.create(type: type, resource: resource, ifNoneExist: criteria, committal: Self.committal(context))
            return Self.written(version, status: created ? .created : .ok, request: request, context: context, format: format)
        }
        let version = try await service.create(type: type, resource: resource, committal: Self.committal(context))
        return Self.written(version, status: .created, request: request, context: context, format: format)
    }

    /// `PUT Type?criteria` (R4 §update, conditional update).
    func conditionalUpdate(_ request: Request, _ context: SocleRequestContext) async throws -> Response {
        let format = try FHIRFormat.requested(request)
        let type = try context.parameters.require("type")
        let resource = try await Self.requiredBody(request, limit: bodyLimit)
        try Self.requireInScope(resource, context)
        let (version, created) = try await service.update(type: type, criteria: Self.criteria(request), resource: resource, committal: Self.committal(context))
        return Self.written(version, status: created ? .created : .ok, request: request, context: context, format: format)
    }

    /// `DELETE Type?criteria` (R4 §delete, conditional delete).
    func conditionalDelete(_ request: Request, _ context: SocleRequestContext) async throws -> Response {
        let format = try FHIRFormat.requested(request)
        let deleted = try await service.delete(type: try context.parameters.require("type"), criteria: Self.criteria(request), committal: Self.committal(context))
        context.access.touched(deleted)
        return Self.deletion(deleted, request: request, format: format)
    }

    /// The criteria of a conditional interaction: the query string without the format parameters.
    static func criteria(_ request: Request) -> String {
        (request.uri.query ?? "").split(separator: "&").filter { !$0.hasPrefix("_format=") && !$0.hasPrefix("_pretty=") }.joined(separator: "&")
    }

    func read(_ request: Request, _ context: SocleRequestContext) async throws -> Response {
        let format = try FHIRFormat.requested(request)
        let version = try await service.read(type: try context.parameters.require("type"), id: try context.parameters.require("id"))
        context.access.touched([version])
        if Self.notModified(version, request) { return Response(status: .notModified, headers: Self.versionHeaders(version, context: context, location: false)) }
        return .fhir(.ok, stored: version.bytes, format: format, pretty: request.fhirPretty, headers: Self.versionHeaders(version, context: context, location: false))
    }

    func vread(_ request: Request, _ context: SocleRequestContext) async throws -> Response {
        let format = try FHIRFormat.requested(request)
        let version = try await service.vread(
            type: try context.parameters.require("type"), id: try context.parameters.require("id"), versionID: try context.parameters.require("vid"))
        context.access.touched([version])
        return .fhir(.ok, stored: version.bytes, format: format, pretty: request.fhirPretty, headers: Self.versionHeaders(version, context: context, location: false))
    }

    func update(_ request: Request, _ context: SocleRequestContext) async throws -> Response {
        let format = try FHIRFormat.requested(request)
        let (type, id) = (try context.parameters.require("type"), try context.parameters.require("id"))
        let resource = try await Self.requiredBody(request, limit: bodyLimit)
        try Self.requireInScope(resource, context)
        try await requireStoredInScope(type: type, id: id, context)
        let (version, created) = try await service.update(
            type: type, id: id, resource: resource, ifMatch: try Self.ifMatch(request), committal: Self.committal(context))
        return Self.written(version, status: created ? .created : .ok, request: request, context: context, format: format)
    }

    func patch(_ request: Request, _ context: SocleRequestContext) async throws -> Response {
        let format = try FHIRFormat.requested(request)
        let (type, id) = (try context.parameters.require("type"), try context.parameters.require("id"))
        try await requireStoredInScope(type: type, id: id, context)
        let kind = request.headers[.contentType].map { Request.essence($0) } ?? ""
        let document: FHIRService.Patch
        switch kind {
        case "application/json-patch+json":
            let buffer = try await request.body.collect(upTo: bodyLimit)
            document = .json(try JSONParser.parse(buffer.readableBytesView))
        case "application/merge-patch+json":
            let buffer = try await request.body.collect(upTo: bodyLimit)
            document = .merge(try JSONParser.parse(buffer.readableBytesView))
        case _ where FHIRFormat.named(kind) != nil:
            // A Parameters resource is a FHIRPath Patch; any other object a merge patch of the resource (fhirpy, Aidbox).
            let body = try await Self.requiredBody(request, limit: bodyLimit)
            guard case .object = body else { throw ServiceError(.badRequest, "a patch is a Parameters resource or an object to merge") }
            document = body["resourceType"]?.stringValue == "Parameters" ? .fhirPath(body) : .merge(body)
        default:
            throw HTTPRequestError(
                status: .unsupportedMediaType,
                message: "a patch is application/json-patch+json (JSON Patch), application/merge-patch+json or a FHIR Parameters resource (FHIRPath Patch), not '\(kind)'")
        }
        let version = try await service.patch(type: type, id: id, patch: document, ifMatch: try Self.ifMatch(request), committal: Self.committal(context))
        return Self.written(version, status: .ok, request: request, context: context, format: format)
    }

    func delete(_ request: Request, _ context: SocleRequestContext) async throws -> Response {
        let format = try FHIRFormat.requested(request)
        try await requireStoredInScope(type: try context.parameters.require("type"), id: try context.parameters.require("id"), context)
        let deleted = try await service.delete(type: try context.parameters.require("type"), id: try context.parameters.require("id"), committal: Self.committal(context))
        context.access.touched(deleted.map { [$0] } ?? [])
        return Self.deletion(deleted.map { [$0] } ?? [], request: request, format: format)
    }

    /// A delete's answer: 200 with an OperationOutcome saying what was
    /// deleted (each resource and its new version), and the ETag when one was.
    static func deletion(_ deleted: [FHIRService.ResourceVersion], request: Request, format: FHIRFormat) -> Response {
        var headers = HTTPFields()
        if deleted.count == 1 { headers[.eTag] = "W/\"\(deleted[0].versionID)\"" }
        let message = deleted.isEmpty ? "there was nothing to delete" : deleted.map { "\($0.reference) deleted (version \($0.versionID))" }.joined(separator: ", ")
        return .fhir(.ok, information(message), format: format, pretty: request.fhirPretty, headers: headers)
    }

    // MARK: History

    enum HistoryLevel {
        case instance(type: String, id: String)
        case type(String)
        case system
    }

    func history(_ request: Request, _ context: SocleRequestContext, _ level: HistoryLevel) async throws -> Response {
        let format = try FHIRFormat.requested(request)
        let count = try Self.integer(request, "_count", default: 50, range: 0...1000)
        let offset = try Self.integer(request, "_offset", default: 0, range: 0...Int.max)
        var query = HistoryQuery(since: try Self.instant(request, "_since"), at: try Self.instant(request, "_at"), limit: count, offset: offset)
        let path: String
        switch level {
        case .instance(let type, let id):
            query.objectID = type + "/" + id
            query.rmType = type
            path = "/\(type)/\(id)/_history"
        case .type(let type):
            query.rmType = type
            path = "/\(type)/_history"
        case .system:
            path = "/_history"
        }
        let (versions, total) = try await service.history(query)
        context.access.touched(versions)
        let base = context.fhirBase
        let entries: [JSON] = versions.map { version in
            var entry = JSONObject([("fullUrl", .string(base + "/" + version.reference))])
            if let json = version.json { entry["resource"] = json }
            entry["request"] = [
                "method": .string(version.method), "url": .string(version.method == "POST" ? version.type : version.reference),
            ]
            entry["response"] = [
                "status": .string(version.isDeleted ? "204" : version.method == "POST" ? "201" : "200"), "etag": .string("W/\"\(version.versionID)\""),
                "lastModified": .string(version.lastUpdated.description),
            ]
            return .object(entry)
        }
        var links: [JSON] = [Self.link("self", base + path, request, offset: offset)]
        if offset + count < total { links.append(Self.link("next", base + path, request, offset: offset + count)) }
        if offset > 0 { links.append(Self.link("previous", base + path, request, offset: max(0, offset - count))) }
        let bundle = JSON.object(JSONObject([
            ("resourceType", "Bundle"), ("id", .string(UUIDText.random())), ("type", "history"), ("total", JSON(total)), ("link", .array(links)),
            ("entry", .array(entries)),
        ]))
        return .fhir(.ok, bundle, format: format, pretty: request.fhirPretty)
    }

    /// A paging link: the request's own parameters with `_offset` set.
    static func link(_ relation: String, _ url: String, _ request: Request, offset: Int) -> JSON {
        var items = request.rawQueryItems.filter { $0.0 != "_offset" }
        items.append(("_offset", String(offset)))
        let query = items.map { "\(Self.encoded($0.0))=\(Self.encoded($0.1))" }.joined(separator: "&")
        return ["relation": .string(relation), "url": .string(url + "?" + query)]
    }

    static func encoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~:"))) ?? text
    }

    // MARK: Helpers

    static func committal(_ context: SocleRequestContext) -> Committal {
        Committal(committer: context.user?.committer ?? .identified(name: "anonymous"))
    }

    /// A token limited to one patient writes only that patient's resources.
    static func requireInScope(_ resource: JSON, _ context: SocleRequestContext) throws {
        guard let scope = context.patientScope else { return }
        try scope.require(FHIRService.patient(of: resource).map { [$0] } ?? [])
    }

    /// The same for a stored resource a write changes (its current version's patient).
    func requireStoredInScope(type: String, id: String, _ context: SocleRequestContext) async throws {
        guard let scope = context.patientScope else { return }
        let current: FHIRService.ResourceVersion
        do {
            current = try await service.read(type: type, id: id)
        } catch let error as ServiceError where error.kind == .notFound || error.kind == .gone {
            return
        }
        try scope.require(current.patient.map { [$0] } ?? [])
    }

    static func requiredBody(_ request: Request, limit: Int) async throws -> JSON {
        guard let body = try await FHIRFormat.body(request, limit: limit) else {
            throw ServiceError(.badRequest, "the request body must be a FHIR resource")
        }
        return body
    }

    /// `If-Match: W/"3"` (or `"3"`, `3`): the version the client read.
    static func ifMatch(_ request: Request) throws -> Int? {
        guard let value = request.headers[.ifMatch], !value.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
        guard let number = FHIRService.versionID(ofETag: value) else {
            throw HTTPRequestError(status: .badRequest, message: "If-Match '\(value)' is not a version id: send W/\"n\" as the ETag gave it")
        }
        return number
    }

    /// `If-None-Match` naming the current version, or `If-Modified-Since` not before its last update: 304.
    static func notModified(_ version: FHIRService.ResourceVersion, _ request: Request) -> Bool {
        if let tags = request.headers[.ifNoneMatch] {
            return tags.split(separator: ",").contains { tag in
                tag.trimmingCharacters(in: .whitespaces) == "*" || FHIRService.versionID(ofETag: String(tag)) == version.versionID
            }
        }
        if let since = request.headers[.ifModifiedSince].flatMap(HTTPDate.parse) {
            return version.lastUpdated.microsecondsSinceEpoch / 1_000_000 <= since.microsecondsSinceEpoch / 1_000_000
        }
        return false
    }

    static func versionHeaders(_ version: FHIRService.ResourceVersion, context: SocleRequestContext, location: Bool) -> HTTPFields {
        var headers = HTTPFields()
        headers[.eTag] = "W/\"\(version.versionID)\""
        headers[.lastModified] = HTTPDate.string(version.lastUpdated)
        if location { headers[.location] = context.fhirBase + "/\(version.reference)/_history/\(version.versionID)" }
        return headers
    }

    /// A write's answer (R4 §http Prefer): the resource (default), nothing, or an OperationOutcome.
    static func written(
        _ version: FHIRService.ResourceVersion, status: HTTPResponse.Status, request: Request, context: SocleRequestContext, format: FHIRFormat
    ) -> Response {
        context.access.touched([version])
        let headers = versionHeaders(version, context: context, location: true)
        let preference = request.headers[.prefer].flatMap { value in
            value.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.first { $0.hasPrefix("return=") }.map { String($0.dropFirst(7)) }
        }
        switch preference {
        case "minimal": return Response(status: status, headers: headers)
        case "OperationOutcome":
            let outcome = ([FHIRIssue(.information, code: "informational", location: "", message: "\(version.reference) version \(version.versionID) stored")]
                + version.issues).operationOutcome
            return .fhir(status, outcome, format: format, pretty: request.fhirPretty, headers: headers)
        default: return .fhir(status, stored: version.bytes, format: format, pretty: request.fhirPretty, headers: headers)
        }
    }

    static func information(_ message: String) -> JSON { FHIRIssue.outcome(.information, code: "informational", message: message) }

    static func integer(_ request: Request, _ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = request.queryParameter(name) else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw ServiceError(.badRequest, "\(name) must be an integer from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
        }
        return number
    }

    static func instant(_ request: Request, _ name: String) throws -> Int64? {
        guard let text = request.queryParameter(name) else { return nil }
        guard let time = ISODateTime(text) else { throw ServiceError(.badRequest, "\(name) must be an instant (2025-01-31T12:00:00Z), not '\(text)'") }
        return time.microsecondsSinceEpoch
    }
}

extension SocleRequestContext {
    /// The FHIR base URL as the client addressed Socle.
    var fhirBase: String { origin + "/fhir" }
}

extension AccessNote {
    /// The resources a FHIR interaction read or wrote, and their patients.
    func touched(_ versions: [FHIRService.ResourceVersion]) {
        patients(versions.compactMap(\.patient))
        resources(versions.map(\.reference))
    }
}
