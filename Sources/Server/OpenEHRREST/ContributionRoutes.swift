import HTTPTypes
import Hummingbird
import Services

/// ITS-REST 1.0.3 §CONTRIBUTION.
struct ContributionRoutes {
    let service: ContributionService
    let bodyLimit: Int

    func register(on group: RouterGroup<SocleRequestContext>) {
        group.post("ehr/:ehr_id/contribution") { request, context in
            try request.requireAcceptsJSON()
            let ehrID = try context.parameters.require("ehr_id")
            guard let json = try await request.jsonBody(context: context, limit: bodyLimit) else {
                throw HTTPRequestError(status: .badRequest, message: "the request body must be a CONTRIBUTION")
            }
            let id = try await service.commit(ehrID: ehrID, json: json, committal: try AuditHeaders.committal(request, user: context.user))
            var headers = HTTPFields()
            headers[.location] = request.baseURL + "/openehr/v1/ehr/\(ehrID.lowercased())/contribution/\(id)"
            headers[.eTag] = "\"\(id)\""
            guard request.prefersRepresentation else { return Response(status: .created, headers: headers) }
            return Response.json(.created, try await service.contribution(ehrID: ehrID, contributionID: id), headers: headers)
        }
        group.get("ehr/:ehr_id/contribution/:contribution_uid") { request, context in
            try request.requireAcceptsJSON()
            return Response.json(
                .ok,
                try await service.contribution(
                    ehrID: try context.parameters.require("ehr_id"), contributionID: try context.parameters.require("contribution_uid")))
        }
    }
}
