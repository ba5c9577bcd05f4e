import Foundation
import HTTPTypes
import Hummingbird
import JSONCore
import Services
import Storage

/// ITS-REST development §ITEM_TAG: the tags of a COMPOSITION or EHR_STATUS
/// (its versioned object or one version) and of a whole EHR, in JSON.
struct TagRoutes {
    let service: TagService
    let bodyLimit: Int

    func register(on group: RouterGroup<SocleRequestContext>) {
        group.get("ehr/:ehr_id/tags") { request, context in
            try request.requireAcceptsJSON()
            let filter = TagFilter(
                keys: request.queryValues("tag_key"), values: request.queryValues("tag_value"), targetPaths: request.queryValues("tag_target_path"))
            return Response.json(.ok, try await service.ehrTags(ehrID: try context.parameters.require("ehr_id"), filter: filter))
        }
        // Each resource's id parameter keeps the name its other routes give it.
        for (resource, id, owner) in [("composition", "uid", TagService.Owner.composition), ("ehr_status", "version_uid", .ehrStatus)] {
            group.get("ehr/:ehr_id/\(resource)/:\(id)/tags") { request, context in
                try request.requireAcceptsJSON()
                let (ehrID, uid) = (try context.parameters.require("ehr_id"), try context.parameters.require(id))
                return Response.json(.ok, try await service.tags(ehrID: ehrID, uidBasedID: uid, owner: owner))
            }
            group.put("ehr/:ehr_id/\(resource)/:\(id)/tags") { request, context in
                try request.requireAcceptsJSON()
                let (ehrID, uid) = (try context.parameters.require("ehr_id"), try context.parameters.require(id))
                guard let body = try await request.jsonBody(context: context, limit: bodyLimit) else {
                    throw HTTPRequestError(status: .badRequest, message: "the request body must be the list of tags: [{\"key\": …, \"value\": …, \"target_path\": …}]")
                }
                let committal = try AuditHeaders.committal(request, user: context.user)
                let tags = try await service.replace(ehrID: ehrID, uidBasedID: uid, owner: owner, body: body, committal: committal)
                return try await request.answer(.ok, minimal: .noContent, headers: HTTPFields(), identifier: uid) { Response.json(.ok, tags) }
            }
            group.delete("ehr/:ehr_id/\(resource)/:\(id)/tags/:key") { request, context in
                let (ehrID, uid) = (try context.parameters.require("ehr_id"), try context.parameters.require(id))
                let key = try context.parameters.require("key")
                try await service.remove(
                    ehrID: ehrID, uidBasedID: uid, owner: owner, key: key.removingPercentEncoding ?? key,
                    committal: try AuditHeaders.committal(request, user: context.user))
                return Response(status: .noContent)
            }
        }
    }
}

extension Request {
    /// Every value of a repeatable query parameter (`tag_key=a&tag_key=b`).
    func queryValues(_ name: String) -> [String] {
        rawQueryItems.filter { $0.0 == name }.map(\.1)
    }
}
