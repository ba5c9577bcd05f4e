import Hummingbird
import JSONCore
import Mappings
import OpenEHR
import Services

/// `/admin`, with EHRbase's admin paths so that existing tooling works.
/// Only users with the admin role may call it.
struct AdminRoutes {
    let service: AdminService
    let templates: TemplateService
    let queries: QueryService
    let fhir: FHIRService
    let bodyLimit: Int
    let accessTrace: AccessTrace?
    let mappings: MappingLibrary
    let mappingSource: MappingSource?
    let mappingAdministration: MappingAdministration?

    func register(on group: RouterGroup<SocleRequestContext>) {
        // All EHRs at once is refused (the specification lets production
        // servers answer 405); the EHRs named by ehr_id are erased.
        group.delete("ehr/all") { request, context in
            try Self.requireAdmin(context)
            let ids = request.queryValues("ehr_id").flatMap { $0.split(separator: ",").map(String.init) }
            guard !ids.isEmpty else {
                throw HTTPRequestError(
                    status: .methodNotAllowed, message: "erasing every EHR at once is not offered: name the EHRs to erase with ehr_id=…&ehr_id=…")
            }
            context.access.patients(ids.map { "EHR/" + $0 })
            _ = try await service.eraseEHRs(ids, by: context.user?.name ?? "anonymous")
            return Response(status: .noContent)
        }
        group.get("access-log") { request, context in try await accessLog(request, context) }
        // The FHIRconnect mappings in force: files (the folder's, those added here), problems, contexts.
        group.get("mappings") { _, context in
            try Self.requireAdmin(context)
            let loaded = Set(try await templates.list().arrayValue?.compactMap { $0["template_id"]?.stringValue } ?? [])
            let stored = try await mappingAdministration?.files.files() ?? []
            return Response.json(
                .ok, MappingFolder.report(mappingAdministration?.view.library ?? mappings, source: mappingSource, loadedTemplates: loaded, stored: stored))
        }
        // Adding or replacing one: checked, stored as an audited version, in force at once.
        group.put("mappings/:file") { request, context in
            try Self.requireAdmin(context)
            let administration = try Self.requireMappings(mappingAdministration)
            let text = String(decoding: try await request.body.collect(upTo: bodyLimit).readableBytesView, as: UTF8.self)
            let committal = try AuditHeaders.committal(request, user: context.user)
            return Response.json(.ok, try await administration.put(file: try context.decodedParameter("file"), text: text, committal: committal))
        }
        group.get("mappings/:file/history") { _, context in
            try Self.requireAdmin(context)
            return Response.json(.ok, try await Self.requireMappings(mappingAdministration).history(file: try context.decodedParameter("file")))
        }
        group.delete("mappings/:file") { request, context in
            try Self.requireAdmin(context)
            let administration = try Self.requireMappings(mappingAdministration)
            let committal = try AuditHeaders.committal(request, user: context.user)
            return Response.json(.ok, try await administration.delete(file: try context.decodedParameter("file"), committal: committal))
        }
        group.delete("ehr/:ehr_id") { request, context in
            try Self.requireAdmin(context)
            try await service.eraseEHR(try context.parameters.require("ehr_id"), by: context.user?.name ?? "anonymous")
            return Response(status: .noContent)
        }
        group.delete("patient/:patient_id") { _, context in
            try Self.requireAdmin(context)
            try await service.erasePatient(try context.parameters.require("patient_id"), by: context.user?.name ?? "anonymous")
            return Response(status: .noContent)
        }
        group.get("changes") { request, context in
            try Self.requireAdmin(context)
            let after = try Self.number(request, "after", default: 0)
            let limit = try Self.number(request, "limit", default: 100)
            return Response.json(.ok, try await service.changes(after: after, limit: Int(limit)))
        }
        group.delete("query/:qualified_name/:version") { _, context in
            try Self.requireAdmin(context)
            try await queries.deleteDefinition(qualifiedName: try context.decodedParameter("qualified_name"), version: try context.parameters.require("version"))
            return Response(status: .noContent)
        }
        // The statements of a FHIR search, their bound values and the database's plans.
        group.get("fhir/explain/:type") { request, context in
            try Self.requireAdmin(context)
            return Response.json(.ok, try await fhir.explain(type: try context.parameters.require("type"), query: request.uri.query ?? ""))
        }
        group.put("template/:template_id") { request, context in
            try Self.requireAdmin(context)
            let template = try await templates.replace(
                templateID: try context.decodedParameter("template_id"), with: try await request.xmlBody(limit: bodyLimit))
            return Response.json(.ok, ["template_id": .string(template.templateID), "concept": .string(template.concept)])
        }
        group.delete("template/all") { _, context in
            try Self.requireAdmin(context)
            return Response.json(.ok, ["deleted": JSON(try await templates.deleteAll())])
        }
        group.delete("template/:template_id") { _, context in
            try Self.requireAdmin(context)
            try await templates.delete(templateID: try context.decodedParameter("template_id"))
            return Response.json(.ok, ["deleted": 1])
        }
    }

    /// The mapping administration, when the server has a mapping folder.
    static func requireMappings(_ administration: MappingAdministration?) throws -> MappingAdministration {
        guard let administration else {
            throw ServiceError(.conflict, "mappings are off (SOCLE_MAPPINGS=none): start the server with the shipped set or a folder of FHIRconnect files (it may be empty)")
        }
        return administration
    }

    /// `GET /admin/access-log?patient=…&from=…&to=…&limit=…`: the access
    /// trace's entries, newest first. `patient` is `EHR/<id>`, `Patient/<id>`
    /// or a bare id (either); `from` and `to` are ISO 8601 date-times.
    func accessLog(_ request: Request, _ context: SocleRequestContext) async throws -> Response {
        try Self.requireAdmin(context)
        guard let accessTrace else { throw ServiceError(.notFound, "the access trace is off (SOCLE_ACCESS_TRACE=off)") }
        try await accessTrace.flush()
        let patients = request.queryParameter("patient").map { $0.contains("/") ? [$0] : ["EHR/" + $0, "Patient/" + $0] }
        func instant(_ name: String) throws -> Int64? {
            guard let text = request.queryParameter(name) else { return nil }
            guard let time = ISODateTime(text) else { throw ServiceError(.badRequest, "\(name) must be an ISO 8601 date-time (2026-01-31T12:00:00Z), not '\(text)'") }
            return time.microsecondsSinceEpoch
        }
        let limit = try Self.number(request, "limit", default: 100)
        guard (1...10_000).contains(limit) else { throw ServiceError(.badRequest, "limit must be from 1 to 10000, not \(limit)") }
        let rows = try await accessTrace.store.rows(patients: patients, from: try instant("from"), to: try instant("to"), limit: Int(limit))
        let entries: [JSON] = rows.map { row in
            guard case .object(var entry)? = try? JSONParser.parse(row.entry) else { return .object(JSONObject([("seq", JSON(Int(row.seq)))])) }
            entry["time"] = .string(ISODateTime(microsecondsSinceEpoch: row.time).description)
            entry["hash"] = .string(row.hash)
            return .object(entry)
        }
        return Response.json(.ok, ["entries": .array(entries)])
    }

    static func number(_ request: Request, _ name: String, default fallback: Int64) throws -> Int64 {
        guard let text = request.queryParameter(name) else { return fallback }
        guard let value = Int64(text) else { throw ServiceError(.badRequest, "\(name) must be a whole number, not '\(text)'") }
        return value
    }

    static func requireAdmin(_ context: SocleRequestContext) throws {
        guard context.user?.roles.contains(.admin) == true else {
            throw ServiceError(.forbidden, "the admin API needs a user with the admin role")
        }
    }
}
