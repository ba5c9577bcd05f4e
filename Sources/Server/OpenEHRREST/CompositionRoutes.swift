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
            let representation = try request.rmRepresentation()
            let ehrID = try context.parameters.require("ehr_id")
            let input = try await compositionBody(request, context)
            let version = try await service.create(ehrID: ehrID, input: input, committal: try AuditHeaders.committal(request, user: context.user))
            return try response(version, request: request, context: context, status: .created, body: request.prefersRepresentation ? representation : nil)
        }
        group.get("ehr/:ehr_id/composition/:uid") { request, context in
            let format = request.queryParameter("format")?.uppercased()
            let accept = request.headers[.accept] ?? ""
            let structured = format == "STRUCTURED" || accept.contains("application/openehr.wt.structured.schema+json")
            let simplified = structured || format == "FLAT" || accept.contains("application/openehr.wt.flat.schema+json")
            let representation: RMRepresentation
            switch format {
            case "XML"?: representation = .xml
            case "JSON"?: representation = .json
            case nil, "FLAT"?, "STRUCTURED"?: representation = simplified ? .json : try request.rmRepresentation()
            case let other?: throw HTTPRequestError(status: .notAcceptable, message: "format=\(other) is not a composition format: ask JSON, XML, FLAT or STRUCTURED")
            }
            let version = try await service.composition(
                ehrID: try context.parameters.require("ehr_id"), uid: try context.parameters.require("uid"), at: try request.versionAtTime())
            // ITS-REST 1.0.3: a composition deleted (at that time) answers 204.
            if version.isDeleted { return try response(version, request: request, context: context, status: .noContent, body: nil) }
            if simplified {
                var body = try await service.flat(version)
                if structured { body = CompositionService.structured(fromFlat: body) }
                var headers = self.headers(version, location: context.openEHRBase + "/ehr/\(version.ehrID)/composition/\(version.uid)")
                headers[.contentType] = structured ? "application/openehr.wt.structured.schema+json" : "application/openehr.wt.flat.schema+json"
                return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONSerializer.bytes(body))))
            }
            return try response(version, request: request, context: context, status: .ok, body: representation)
        }
        group.put("ehr/:ehr_id/composition/:uid") { request, context in
            let representation = try request.rmRepresentation()
            let preceding = try request.ifMatch()
            let input = try await compositionBody(request, context)
            let version = try await service.update(
                ehrID: try context.parameters.require("ehr_id"), versionedObjectID: try context.parameters.require("uid"), precedingVersionUID: preceding,
                input: input, committal: try AuditHeaders.committal(request, user: context.user))
            let body = request.prefersRepresentation
            return try response(version, request: request, context: context, status: body ? .ok : .noContent, body: body ? representation : nil)
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
    /// `application/xml`, or FLAT keys (`format=FLAT` or the FLAT media type,
    /// with `templateId` or `ctx/template_id`) or STRUCTURED read as FLAT.
    func compositionBody(_ request: Request, _ context: SocleRequestContext) async throws -> CompositionInput {
        let format = request.queryParameter("format")?.uppercased()
        let type = request.headers[.contentType].map { Request.essence($0) }
        let structured = format == "STRUCTURED" || type == "application/openehr.wt.structured.schema+json"
        guard structured || format == "FLAT" || type == "application/openehr.wt.flat.schema+json" else {
            guard let json = try await request.rmBody(context: context, limit: bodyLimit, rmType: "COMPOSITION") else {
                throw HTTPRequestError(status: .badRequest, message: "the request body must be a COMPOSITION in canonical JSON or XML")
            }
            return .canonical(json)
        }
        let json = try await requiredBody(request, context)
        guard case .object(let object) = json else {
            throw HTTPRequestError(status: .badRequest, message: "a \(structured ? "STRUCTURED" : "FLAT") composition is a JSON object")
        }
        // STRUCTURED is FLAT nested: it is read as its FLAT keys.
        let flat = structured ? CompositionService.flat(fromStructured: object) : object
        guard let templateID = request.queryParameter("templateId") ?? flat["ctx/template_id"]?.stringValue else {
            throw HTTPRequestError(status: .badRequest, message: "a FLAT composition needs its template: add templateId= or ctx/template_id")
        }
        return .flat(flat, templateID: templateID)
    }

    func requiredBody(_ request: Request, _ context: SocleRequestContext) async throws -> JSON {
        guard let json = try await request.jsonBody(context: context, limit: bodyLimit) else {
            throw HTTPRequestError(status: .badRequest, message: "the request body must be a COMPOSITION in canonical JSON")
        }
        return json
    }

    func headers(_ version: CompositionService.CompositionVersion, location: String) -> HTTPFields {
        var headers = HTTPFields()
        headers[.location] = location
        headers[.eTag] = "\"\(version.uid)\""
        headers[.lastModified] = HTTPDate.string(ISODateTime(microsecondsSinceEpoch: version.record.audit.timeCommitted))
        return headers
    }

    func response(
        _ version: CompositionService.CompositionVersion, request: Request, context: SocleRequestContext, status: HTTPResponse.Status, body representation: RMRepresentation?
    ) throws -> Response {
        let headers = headers(version, location: context.openEHRBase + "/ehr/\(version.ehrID)/composition/\(version.uid)")
        guard let representation else { return Response(status: status, headers: headers) }
        return try Response.rm(status, bytes: version.record.data, rmType: "COMPOSITION", as: representation, headers: headers)
    }

    func originalVersionResponse(
        _ version: CompositionService.CompositionVersion, bytes: [UInt8], request: Request, context: SocleRequestContext, as representation: RMRepresentation
    ) throws -> Response {
        let location = context.openEHRBase + "/ehr/\(version.ehrID)/versioned_composition/\(version.uid.objectID)/version/\(version.uid)"
        return try Response.rm(.ok, bytes: bytes, rmType: "ORIGINAL_VERSION", as: representation, headers: headers(version, location: location))
    }
}
