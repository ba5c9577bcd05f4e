import Hummingbird
import JSONCore
import Services

/// `/admin`, with EHRbase's admin paths so that existing tooling works.
/// Only users with the admin role may call it.
struct AdminRoutes {
    let service: AdminService
    let templates: TemplateService
    let queries: QueryService
    let fhir: FHIRService
    let bodyLimit: Int

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
            _ = try await service.eraseEHRs(ids, by: context.user?.name ?? "anonymous")
            return Response(status: .noContent)
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

    static func number(_ request: Request, _ name: String, default fallback: Int64) throws -> Int64 {
        guard let text = request.queryParameter(name) else { return fallback }
        guard let value = Int64(text) else { throw ServiceError(.badRequest, "\(name) must be a whole number, not '\(text)'") }
        return value
    }

    static func requireAdmin(_ context: SocleRequestContext) throws {
        guard context.user?.role == .admin else {
            throw ServiceError(.forbidden, "the admin API needs a user with the admin role")
        }
    }
}
