import HTTPTypes
import Hummingbird
import JSONCore
import Services

/// ITS-REST 1.0.3 §Definitions: ADL 1.4 operational templates.
struct DefinitionRoutes {
    let service: TemplateService
    let bodyLimit: Int

    func register(on group: RouterGroup<SocleRequestContext>) {
        group.post("definition/template/adl1.4") { request, context in
            let opt = try await request.xmlBody(limit: bodyLimit)
            let template = try await service.upload(opt)
            var headers = HTTPFields()
            headers[.location] = context.openEHRBase + "/definition/template/adl1.4/" + Self.pathSegment(template.templateID)
            headers[.eTag] = "\"\(template.templateID)\""
            guard request.prefersRepresentation else { return Response(status: .created, headers: headers) }
            headers[.contentType] = "application/xml"
            return Response(status: .created, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: opt)))
        }
        group.get("definition/template/adl1.4") { request, _ in
            try request.requireAcceptsJSON()
            return Response.json(.ok, try await service.list())
        }
        group.get("definition/template/adl1.4/:template_id/example") { request, context in
            // ITS-REST 1.0.3 §Template example: canonical JSON or XML, FLAT or STRUCTURED.
            let format = request.queryParameter("format")?.uppercased()
            guard ["JSON", "XML", "FLAT", "STRUCTURED", nil].contains(format) else {
                throw HTTPRequestError(status: .notAcceptable, message: "format=\(format!) is not an example format: ask JSON, XML, FLAT or STRUCTURED")
            }
            let templateID = try context.decodedParameter("template_id")
            if format == "FLAT" || format == "STRUCTURED" {
                try request.requireAcceptsJSON()
                var example = try await service.example(templateID: templateID, flat: true)
                if format == "STRUCTURED" { example = CompositionService.structured(fromFlat: example) }
                return Response.json(.ok, example)
            }
            let representation: RMRepresentation = format == "XML" ? .xml : format == "JSON" ? .json : try request.rmRepresentation()
            return Response.rm(.ok, try await service.example(templateID: templateID, flat: false), rmType: "COMPOSITION", as: representation)
        }
        group.get("definition/template/adl1.4/:template_id") { request, context in
            // The web template (EHRbase's and Better's JSON form of a template) when asked for by media type.
            if let accept = request.headers[.accept], accept.contains("application/openehr.wt+json") {
                let webTemplate = try await service.webTemplate(templateID: try context.decodedParameter("template_id"))
                return Response(
                    status: .ok, headers: [.contentType: "application/openehr.wt+json"],
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONSerializer.bytes(webTemplate))))
            }
            try request.requireAccepts("application/xml", matching: Request.isXML)
            let opt = try await service.opt(templateID: try context.decodedParameter("template_id"))
            return Response(status: .ok, headers: [.contentType: "application/xml"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: opt)))
        }
        // Templates are replaced and removed through the admin API.
        group.methodNotAllowed("definition/template/adl1.4", allow: [.get, .post])
        group.methodNotAllowed("definition/template/adl1.4/:template_id", allow: [.get])
        group.methodNotAllowed("definition/template/adl1.4/:template_id/example", allow: [.get])
    }

    /// Percent-encodes a template id for a URL path segment.
    static func pathSegment(_ id: String) -> String {
        id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? id
    }
}

extension Request {
    /// The body of an XML upload (415 for another media type).
    func xmlBody(limit: Int) async throws -> [UInt8] {
        if let type = headers[.contentType] {
            guard Self.isXML(Self.essence(type)) else {
                throw HTTPRequestError(status: .unsupportedMediaType, message: "Content-Type '\(type)' is not supported here: send application/xml")
            }
        }
        let buffer = try await body.collect(upTo: limit)
        return Array(buffer.readableBytesView)
    }
}

extension SocleRequestContext {
    /// A path parameter with its percent-encoding removed (template ids have spaces).
    func decodedParameter(_ name: String) throws -> String {
        let raw = try parameters.require(name)
        return raw.removingPercentEncoding ?? raw
    }
}
