import HTTPTypes
import Hummingbird
import Services

/// ITS-REST 1.0.3 §CONTRIBUTION, in canonical JSON or XML.
struct ContributionRoutes {
    let service: ContributionService
    let bodyLimit: Int

    func register(on group: RouterGroup<SocleRequestContext>) {
        group.post("ehr/:ehr_id/contribution") { request, context in
            let representation = try request.rmRepresentation()
            let ehrID = try context.parameters.require("ehr_id")
            guard let json = try await request.rmBody(context: context, limit: bodyLimit, rmType: "CONTRIBUTION") else {
                throw HTTPRequestError(status: .badRequest, message: "the request body must be a CONTRIBUTION")
            }
            let id = try await service.commit(ehrID: ehrID, json: json, committal: try AuditHeaders.committal(request, user: context.user))
            var headers = HTTPFields()
            headers[.location] = context.openEHRBase + "/ehr/\(ehrID.lowercased())/contribution/\(id)"
            headers[.eTag] = "\"\(id)\""
            return try await request.answer(.created, minimal: .created, headers: headers, identifier: id) {
                Response.rm(
                    .created, try await service.contribution(ehrID: ehrID, contributionID: id), rmType: "CONTRIBUTION", as: representation, headers: headers)
            }
        }
        group.get("ehr/:ehr_id/contribution/:contribution_uid") { request, context in
            let representation = try request.rmRepresentation()
            let contribution = try await service.contribution(
                ehrID: try context.parameters.require("ehr_id"), contributionID: try context.parameters.require("contribution_uid"))
            return Response.rm(.ok, contribution, rmType: "CONTRIBUTION", as: representation)
        }
    }
}
