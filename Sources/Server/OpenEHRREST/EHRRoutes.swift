import HTTPTypes
import Hummingbird
import JSONCore
import OpenEHR
import Services

/// ITS-REST 1.0.3 §EHR and §EHR_STATUS under `/openehr/v1`.
struct EHRRoutes {
    let service: EHRService
    let bodyLimit: Int

    func register(on group: RouterGroup<SocleRequestContext>) {
        group.post("ehr") { request, context in try await createEHR(request, context, id: nil) }
        group.put("ehr/:ehr_id") { request, context in try await createEHR(request, context, id: try context.parameters.require("ehr_id")) }
        group.get("ehr") { request, context in try await findEHR(request, context) }
        // ITS-REST has no DELETE of an EHR: erasure is the admin API's (`DELETE /admin/ehr/{ehr_id}`).
        group.methodNotAllowed("ehr/:ehr_id", allow: [.get, .put])
        group.get("ehr/:ehr_id") { request, context in
            let representation = try request.rmRepresentation()
            return ehrResponse(try await service.ehr(try context.parameters.require("ehr_id")), request: request, context: context, status: .ok, body: representation)
        }
        group.get("ehr/:ehr_id/ehr_status") { request, context in
            let representation = try request.rmRepresentation()
            let version = try await service.status(ehrID: try context.parameters.require("ehr_id"), at: try request.versionAtTime())
            return try statusResponse(version, request: request, context: context, status: .ok, body: representation)
        }
        group.get("ehr/:ehr_id/ehr_status/:version_uid") { request, context in
            let representation = try request.rmRepresentation()
            let version = try await service.status(
                ehrID: try context.parameters.require("ehr_id"), versionUID: try context.parameters.require("version_uid"))
            return try statusResponse(version, request: request, context: context, status: .ok, body: representation)
        }
        group.put("ehr/:ehr_id/ehr_status") { request, context in try await updateStatus(request, context) }
        group.get("ehr/:ehr_id/versioned_ehr_status") { request, context in
            try request.requireAcceptsJSON()
            return Response.json(.ok, try await service.versionedStatus(ehrID: try context.parameters.require("ehr_id")))
        }
        group.get("ehr/:ehr_id/versioned_ehr_status/revision_history") { request, context in
            try request.requireAcceptsJSON()
            return Response.json(.ok, try await service.statusRevisionHistory(ehrID: try context.parameters.require("ehr_id")))
        }
        group.get("ehr/:ehr_id/versioned_ehr_status/version") { request, context in
            let representation = try request.rmRepresentation()
            let ehrID = try context.parameters.require("ehr_id")
            let (version, bytes) = try await service.statusOriginalVersion(ehrID: ehrID, at: try request.versionAtTime())
            return try originalVersionResponse(version, bytes: bytes, ehrID: ehrID, request: request, context: context, as: representation)
        }
        group.get("ehr/:ehr_id/versioned_ehr_status/version/:version_uid") { request, context in
            let representation = try request.rmRepresentation()
            let ehrID = try context.parameters.require("ehr_id")
            let (version, bytes) = try await service.statusOriginalVersion(
                ehrID: ehrID, versionUID: try context.parameters.require("version_uid"))
            return try originalVersionResponse(version, bytes: bytes, ehrID: ehrID, request: request, context: context, as: representation)
        }
    }

    /// POST /ehr and PUT /ehr/{ehr_id}: 201, `Location`, `ETag` (the EHR
    /// id), body only with `Prefer: return=representation`.
    func createEHR(_ request: Request, _ context: SocleRequestContext, id: String?) async throws -> Response {
        let representation = try request.rmRepresentation()
        let body = try await request.rmBody(context: context, limit: bodyLimit, rmType: "EHR_STATUS")
        let status = try body.map { json throws(RMDecodingError) in try EHRStatus(json: json) }
        let committal = try AuditHeaders.committal(request, user: context.user)
        let (summary, _) = try await service.createEHR(id: id, status: status, committal: committal)
        context.access.patients(["EHR/" + summary.record.ehrID])
        return try await request.answer(.created, minimal: .created, headers: ehrHeaders(summary, context: context), identifier: summary.record.ehrID) {
            ehrResponse(summary, request: request, context: context, status: .created, body: representation)
        }
    }

    func findEHR(_ request: Request, _ context: SocleRequestContext) async throws -> Response {
        let representation = try request.rmRepresentation()
        guard let subjectID = request.queryParameter("subject_id"), let namespace = request.queryParameter("subject_namespace"),
            !subjectID.isEmpty, !namespace.isEmpty
        else {
            throw HTTPRequestError(status: .badRequest, message: "both subject_id and subject_namespace query parameters are required")
        }
        let summary = try await service.ehr(subjectID: subjectID, subjectNamespace: namespace)
        context.access.patients(["EHR/" + summary.record.ehrID])
        return ehrResponse(summary, request: request, context: context, status: .ok, body: representation)
    }

    /// PUT /ehr/{ehr_id}/ehr_status with `If-Match`: 200 with the new
    /// status, or 204 with `return=minimal` (the default).
    func updateStatus(_ request: Request, _ context: SocleRequestContext) async throws -> Response {
        let representation = try request.rmRepresentation()
        let ehrID = try context.parameters.require("ehr_id")
        let preceding = try request.ifMatch()
        guard let body = try await request.rmBody(context: context, limit: bodyLimit, rmType: "EHR_STATUS") else {
            throw HTTPRequestError(status: .badRequest, message: "the request body must be the new EHR_STATUS")
        }
        let status = try EHRStatus(json: body)
        let committal = try AuditHeaders.committal(request, user: context.user)
        do {
            let version = try await service.updateStatus(ehrID: ehrID, precedingVersionUID: preceding, status: status, committal: committal)
            var response = try await request.answer(
                .ok, minimal: .noContent, headers: statusHeaders(version, context: context), identifier: version.uid.description
            ) {
                try statusResponse(version, request: request, context: context, status: .ok, body: representation)
            }
            response.headers.append(contentsOf: ItemTagHeaders.fields(committal))
            return response
        } catch var error as ServiceError where error.kind == .preconditionFailed {
            if let latest = error.latestVersion { error.message += "; the latest version is \(latest)" }
            throw error
        }
    }

    func ehrHeaders(_ summary: EHRService.Summary, context: SocleRequestContext) -> HTTPFields {
        .resource(location: context.openEHRBase + "/ehr/" + summary.record.ehrID, eTag: summary.record.ehrID, modified: summary.record.timeCreated)
    }

    func statusHeaders(_ version: EHRService.StatusVersion, context: SocleRequestContext) -> HTTPFields {
        .resource(
            location: context.openEHRBase + "/ehr/\(version.ehrID)/ehr_status/\(version.uid)", eTag: version.uid.description,
            modified: version.record.audit.timeCommitted)
    }

    func ehrResponse(_ summary: EHRService.Summary, request: Request, context: SocleRequestContext, status: HTTPResponse.Status, body: RMRepresentation?) -> Response {
        let headers = ehrHeaders(summary, context: context)
        guard let body else { return Response(status: status, headers: headers) }
        return Response.rm(status, summary.json, rmType: "EHR", as: body, headers: headers)
    }

    func statusResponse(
        _ version: EHRService.StatusVersion, request: Request, context: SocleRequestContext, status: HTTPResponse.Status, body: RMRepresentation?
    ) throws -> Response {
        let headers = statusHeaders(version, context: context)
        guard let body else { return Response(status: status, headers: headers) }
        return try Response.rm(status, bytes: version.json, rmType: "EHR_STATUS", as: body, headers: headers)
    }

    func originalVersionResponse(
        _ version: EHRService.StatusVersion, bytes: [UInt8], ehrID: String, request: Request, context: SocleRequestContext, as representation: RMRepresentation
    ) throws -> Response {
        let headers = HTTPFields.resource(
            location: context.openEHRBase + "/ehr/\(version.ehrID)/versioned_ehr_status/version/\(version.uid)", eTag: version.uid.description,
            modified: version.record.audit.timeCommitted)
        return try Response.rm(.ok, bytes: bytes, rmType: "ORIGINAL_VERSION", as: representation, headers: headers)
    }
}
