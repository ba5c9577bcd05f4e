import HTTPTypes
import Hummingbird
import JSONCore
import OpenEHR
import Services
import Templates

/// ITS-REST 1.0.3 §Definitions: ADL 1.4 operational templates.
struct DefinitionRoutes {
    let service: TemplateService
    let bodyLimit: Int
    /// This system's id, for the uid of an `output` example.
    let systemID: String

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
            try await example(request, context)
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

    /// GET …/{template_id}/example (ITS-REST 1.0.3 §Template example; 1.1
    /// adds `detail_level` — required, the default, medium or complete — and
    /// `type`: `input`, ready to commit, or `output`, as a stored composition
    /// is read back, with its uid): canonical JSON or XML, FLAT or STRUCTURED,
    /// by Accept or EHRbase's `format=`.
    func example(_ request: Request, _ context: SocleRequestContext) async throws -> Response {
        let detail = try Self.enumParameter(request, "detail_level", default: ExampleComposition.DetailLevel.required)
        let kind = try Self.enumParameter(request, "type", default: ExampleKind.input)
        let format = try CompositionFormat.accepted(request, fallback: .canonical(try request.rmRepresentation()))
        let templateID = try context.decodedParameter("template_id")
        let uid = kind == .output ? ObjectVersionID(objectID: UUIDText.random(), creatingSystemID: systemID, versionNumber: 1) : nil
        switch format {
        case .canonical(let representation):
            return Response.rm(.ok, try await service.example(templateID: templateID, detail: detail, uid: uid), rmType: "COMPOSITION", as: representation)
        case .flat(let mediaType), .structured(let mediaType):
            var example = try await service.example(templateID: templateID, detail: detail, uid: uid, flat: true)
            if format.isStructured { example = CompositionService.structured(fromFlat: example) }
            return Response(status: .ok, headers: [.contentType: mediaType], body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONSerializer.bytes(example))))
        }
    }

    /// `type` of an example: to commit, or as read back.
    enum ExampleKind: String, CaseIterable { case input, output }

    /// A query parameter naming one case of `T` (case-insensitive); 400 naming the cases otherwise.
    static func enumParameter<T: RawRepresentable & CaseIterable>(_ request: Request, _ name: String, default value: T) throws -> T
    where T.RawValue == String {
        guard let text = request.queryParameter(name) else { return value }
        guard let found = T(rawValue: text.lowercased()) else {
            throw HTTPRequestError(
                status: .badRequest, message: "\(name)=\(text) is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return found
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
