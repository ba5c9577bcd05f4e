import HTTPTypes
import Hummingbird
import JSONCore
import OpenEHR
import Services

/// ITS-REST 1.0.3 §DIRECTORY: the EHR's FOLDER tree, created, replaced with
/// If-Match, deleted with If-Match, read latest, at a time or by version,
/// whole or at a `path` of sub-folder names; in canonical JSON or XML.
struct DirectoryRoutes {
    let service: DirectoryService
    let bodyLimit: Int

    func register(on group: RouterGroup<SocleRequestContext>) {
        group.post("ehr/:ehr_id/directory") { request, context in
            let representation = try request.rmRepresentation()
            let version = try await service.create(
                ehrID: try context.parameters.require("ehr_id"), json: try await requiredBody(request, context),
                committal: try AuditHeaders.committal(request, user: context.user))
            return try await request.answer(.created, minimal: .created, headers: headers(version, context: context), identifier: version.uid.description) {
                try response(version, request: request, context: context, status: .created, body: version.record.data, as: representation)
            }
        }
        group.put("ehr/:ehr_id/directory") { request, context in
            let representation = try request.rmRepresentation()
            let preceding = try request.ifMatch()
            let version = try await service.update(
                ehrID: try context.parameters.require("ehr_id"), precedingVersionUID: preceding, json: try await requiredBody(request, context),
                committal: try AuditHeaders.committal(request, user: context.user))
            return try await request.answer(.ok, minimal: .noContent, headers: headers(version, context: context), identifier: version.uid.description) {
                try response(version, request: request, context: context, status: .ok, body: version.record.data, as: representation)
            }
        }
        group.delete("ehr/:ehr_id/directory") { request, context in
            let preceding = try request.ifMatch()
            let version = try await service.delete(
                ehrID: try context.parameters.require("ehr_id"), precedingVersionUID: preceding,
                committal: try AuditHeaders.committal(request, user: context.user))
            return try response(version, request: request, context: context, status: .noContent, body: nil, as: .json)
        }
        group.get("ehr/:ehr_id/directory") { request, context in
            let representation = try request.rmRepresentation()
            let version = try await service.directory(ehrID: try context.parameters.require("ehr_id"), at: try request.versionAtTime())
            return try read(version, request: request, context: context, as: representation)
        }
        group.get("ehr/:ehr_id/directory/:version_uid") { request, context in
            let representation = try request.rmRepresentation()
            let version = try await service.directory(
                ehrID: try context.parameters.require("ehr_id"), versionUID: try context.parameters.require("version_uid"))
            return try read(version, request: request, context: context, as: representation)
        }
    }

    /// A directory deleted (at that time) answers 204, as a deleted composition does.
    func read(_ version: DirectoryService.DirectoryVersion, request: Request, context: SocleRequestContext, as representation: RMRepresentation) throws -> Response {
        if version.isDeleted { return try response(version, request: request, context: context, status: .noContent, body: nil, as: representation) }
        let folder = try DirectoryService.folder(at: request.queryParameter("path"), in: version)
        return try response(version, request: request, context: context, status: .ok, body: JSONSerializer.bytes(folder), as: representation)
    }

    func requiredBody(_ request: Request, _ context: SocleRequestContext) async throws -> JSON {
        guard let json = try await request.rmBody(context: context, limit: bodyLimit, rmType: "FOLDER") else {
            throw HTTPRequestError(status: .badRequest, message: "the request body must be a FOLDER in canonical JSON or XML")
        }
        return json
    }

    func headers(_ version: DirectoryService.DirectoryVersion, context: SocleRequestContext) -> HTTPFields {
        .resource(
            location: context.openEHRBase + "/ehr/\(version.ehrID)/directory/\(version.uid)", eTag: version.uid.description,
            modified: version.record.audit.timeCommitted)
    }

    func response(
        _ version: DirectoryService.DirectoryVersion, request: Request, context: SocleRequestContext, status: HTTPResponse.Status, body: [UInt8]?, as representation: RMRepresentation
    ) throws -> Response {
        let headers = headers(version, context: context)
        if let body { return try Response.rm(status, bytes: body, rmType: "FOLDER", as: representation, headers: headers) }
        return Response(status: status, headers: headers)
    }
}
