import HTTPTypes
import Hummingbird
import JSONCore
import OpenEHR
import Services

/// ITS-REST 1.0.3 §COMPOSITION and §VERSIONED_COMPOSITION (canonical JSON).
struct CompositionRoutes {
    let service: CompositionService
    let bodyLimit: Int

    func register(on group: RouterGroup<SocleRequestContext>) {
        group.post("ehr/:ehr_id/composition") { request, context in
            let format = try CompositionFormat.ofBody(request)
            let answer = try CompositionFormat.accepted(request, fallback: format)
            let ehrID = try context.parameters.require("ehr_id")
            let input = try await compositionBody(request, context, format: format)
            let committal = try AuditHeaders.committal(request, user: context.user)
            let version = try await service.create(ehrID: ehrID, input: input, committal: committal)
            var response = try await writeResponse(version, request: request, context: context, status: .created, format: answer)
            response.headers.append(contentsOf: ItemTagHeaders.fields(committal))
            return response
        }
        group.get("ehr/:ehr_id/composition/:uid") { request, context in
            let format = try CompositionFormat.accepted(request, fallback: .canonical(try request.rmRepresentation()))
            let version = try await service.composition(
                ehrID: try context.parameters.require("ehr_id"), uid: try context.parameters.require("uid"), at: try request.versionAtTime())
            // ITS-REST 1.0.3: a composition deleted (at that time) answers 204.
            if version.isDeleted { return try response(version, request: request, context: context, status: .noContent, body: nil) }
            return try await response(version, context: context, status: .ok, format: format)
        }
        group.put("ehr/:ehr_id/composition/:uid") { request, context in
            let format = try CompositionFormat.ofBody(request)
            let answer = try CompositionFormat.accepted(request, fallback: format)
            let preceding = try request.ifMatch()
            let input = try await compositionBody(request, context, format: format)
            let committal = try AuditHeaders.committal(request, user: context.user)
            let version = try await service.update(
                ehrID: try context.parameters.require("ehr_id"), versionedObjectID: try context.parameters.require("uid"), precedingVersionUID: preceding,
                input: input, committal: committal)
            var response = try await writeResponse(version, request: request, context: context, status: .ok, format: answer)
            response.headers.append(contentsOf: ItemTagHeaders.fields(committal))
            return response
        }
        group.delete("ehr/:ehr_id/composition/:uid") { request, context in
            let version = try await service.delete(
                ehrID: try context.parameters.require("ehr_id"), uid: try context.parameters.require("uid"), ifMatch: try request.optionalIfMatch(),
                committal: try AuditHeaders.committal(request, user: context.user))
            return try response(version, request: request, context: context, status: .noContent, body: nil)
        }
        group.get("ehr/:ehr_id/versioned_composition/:object_id") { request, context in
            try request.requireAcceptsJSON()
            return Response.json(
                .ok, try await service.versionedComposition(ehrID: try context.parameters.require("ehr_id"), objectID: try context.parameters.require("object_id")))
        }
        group.get("ehr/:ehr_id/versioned_composition/:object_id/revision_history") { request, context in
            try request.requireAcceptsJSON()
            return Response.json(
                .ok, try await service.revisionHistory(ehrID: try context.parameters.require("ehr_id"), objectID: try context.parameters.require("object_id")))
        }
        group.get("ehr/:ehr_id/versioned_composition/:object_id/version") { request, context in
            let representation = try request.rmRepresentation()
            let (version, bytes) = try await service.originalVersion(
                ehrID: try context.parameters.require("ehr_id"), objectID: try context.parameters.require("object_id"), at: try request.versionAtTime())
            return try originalVersionResponse(version, bytes: bytes, request: request, context: context, as: representation)
        }
        group.get("ehr/:ehr_id/versioned_composition/:object_id/version/:version_uid") { request, context in
            let representation = try request.rmRepresentation()
            let (version, bytes) = try await service.originalVersion(
                ehrID: try context.parameters.require("ehr_id"), objectID: try context.parameters.require("object_id"),
                versionUID: try context.parameters.require("version_uid"))
            return try originalVersionResponse(version, bytes: bytes, request: request, context: context, as: representation)
        }
    }

    /// The body: canonical JSON, read from canonical XML when sent as
    /// `application/xml`, or FLAT keys (STRUCTURED read as FLAT) with the
    /// template from `openehr-template-id`, `templateId` or `ctx/template_id`.
    func compositionBody(_ request: Request, _ context: SocleRequestContext, format: CompositionFormat) async throws -> CompositionInput {
        guard format.isSimplified else {
            guard let json = try await request.rmBody(context: context, limit: bodyLimit, rmType: "COMPOSITION") else {
                throw HTTPRequestError(status: .badRequest, message: "the request body must be a COMPOSITION in canonical JSON or XML")
            }
            return .canonical(json)
        }
        guard let json = try await request.jsonBody(context: context, limit: bodyLimit)
        else {
            throw HTTPRequestError(status: .badRequest, message: "the request body must be a COMPOSITION in the \(format.isStructured ? "STRUCTURED" : "FLAT") format")
        }
        guard case .object(let object) = json else {
            throw HTTPRequestError(status: .badRequest, message: "a \(format.isStructured ? "STRUCTURED" : "FLAT") composition is a JSON object")
        }
        // STRUCTURED is FLAT nested: it is read as its FLAT keys.
        let flat = format.isStructured ? CompositionService.flat(fromStructured: object) : object
        guard let templateID = request.templateIDHeader ?? flat["ctx/template_id"]?.stringValue else {
            throw HTTPRequestError(
                status: .badRequest, message: "a FLAT or STRUCTURED composition needs its template: send the openehr-template-id header (or templateId=, or ctx/template_id)")
        }
        return .flat(flat, templateID: templateID)
    }

    func headers(_ version: CompositionService.CompositionVersion, location: String) -> HTTPFields {
        .resource(location: location, eTag: version.uid.description, modified: version.record.audit.timeCommitted)
    }

    func response(
        _ version: CompositionService.CompositionVersion, request: Request, context: SocleRequestContext, status: HTTPResponse.Status, body representation: RMRepresentation?
    ) throws -> Response {
        let headers = headers(version, location: context.openEHRBase + "/ehr/\(version.ehrID)/composition/\(version.uid)")
        guard let representation else { return Response(status: status, headers: headers) }
        return try Response.rm(status, bytes: version.record.data, rmType: "COMPOSITION", as: representation, headers: headers)
    }

    /// A version in the format asked for: canonical, or FLAT / STRUCTURED
    /// through the web template of its template.
    func response(_ version: CompositionService.CompositionVersion, context: SocleRequestContext, status: HTTPResponse.Status, format: CompositionFormat)
        async throws -> Response
    {
        var headers = headers(version, location: context.openEHRBase + "/ehr/\(version.ehrID)/composition/\(version.uid)")
        switch format {
        case .canonical(let representation):
            return try Response.rm(status, bytes: version.record.data, rmType: "COMPOSITION", as: representation, headers: headers)
        case .flat(let mediaType), .structured(let mediaType):
            var body = try await service.flat(version)
            if format.isStructured { body = CompositionService.structured(fromFlat: body) }
            headers[.contentType] = mediaType
            return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONSerializer.bytes(body))))
        }
    }

    /// The answer to a commit, in the format asked for (`Request.answer`).
    func writeResponse(
        _ version: CompositionService.CompositionVersion, request: Request, context: SocleRequestContext, status: HTTPResponse.Status,
        format: CompositionFormat
    ) async throws -> Response {
        let headers = headers(version, location: context.openEHRBase + "/ehr/\(version.ehrID)/composition/\(version.uid)")
        return try await request.answer(status, minimal: status == .ok ? .noContent : status, headers: headers, identifier: version.uid.description) {
            try await response(version, context: context, status: status, format: format)
        }
    }

    func originalVersionResponse(
        _ version: CompositionService.CompositionVersion, bytes: [UInt8], request: Request, context: SocleRequestContext, as representation: RMRepresentation
    ) throws -> Response {
        let location = context.openEHRBase + "/ehr/\(version.ehrID)/versioned_composition/\(version.uid.objectID)/version/\(version.uid)"
        return try Response.rm(.ok, bytes: bytes, rmType: "ORIGINAL_VERSION", as: representation, headers: headers(version, location: location))
    }
}
