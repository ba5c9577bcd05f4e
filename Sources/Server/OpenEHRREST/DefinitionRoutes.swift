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
            headers[.location] = request.baseURL + "/openehr/v1/definition/template/adl1.4/" + Self.pathSegment(template.templateID)
            headers[.eTag] = "\"\(template.templateID)\""
            guard request.prefersRepresentation else { return Response(status: .created, headers: headers) }
            headers[.contentType] = "application/xml"
            return Response(status: .created, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: opt)))
        }
        group.get("definition/template/adl1.4") { request, _ in
            try request.requireAcceptsJSON()
            return Response.json(.ok, try await service.list())
        }
        group.get("definition/template/adl1.4/:template_id") { request, context in
            try request.requireAccepts("application/xml", also: ["text/xml"])
            let opt = try await service.opt(templateID: try context.decodedParameter("template_id"))
            return Response(status: .ok, headers: [.contentType: "application/xml"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: opt)))
        }
    }

    /// Percent-encodes a template id for a URL path segment.
    static func pathSegment(_ id: String) -> String {
        id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? id
    }
}

extension Request {
    /// The body of an XML upload (415 for another media type, 400 when empty).
    func xmlBody(limit: Int) async throws -> [UInt8] {
        if let type = headers[.contentType] {
            let essence = type.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            guard essence == "application/xml" || essence == "text/xml" || essence.hasSuffix("+xml") else {
                throw HTTPRequestError(status: .unsupportedMediaType, message: "Content-Type '\(type)' is not supported here: send application/xml")
            }
        }
        let buffer = try await body.collect(upTo: limit)
        return Array(buffer.readableBytesView)
    }

    /// 406 unless Accept allows `mediaType` (or one of `also`).
    func requireAccepts(_ mediaType: String, also others: [String] = []) throws {
        guard let accept = headers[.accept] else { return }
        let wanted = Set([mediaType] + others)
        let ranges = accept.split(separator: ",").map { $0.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? "" }
        if ranges.contains(where: { $0 == "*/*" || wanted.contains($0) || $0.isEmpty || (mediaType.hasPrefix("application/") && $0 == "application/*") }) {
            return
        }
        throw HTTPRequestError(status: .notAcceptable, message: "this resource is served as \(mediaType), which Accept '\(accept)' excludes")
    }
}

extension SocleRequestContext {
    /// A path parameter with its percent-encoding removed (template ids have spaces).
    func decodedParameter(_ name: String) throws -> String {
        let raw = try parameters.require(name)
        return raw.removingPercentEncoding ?? raw
    }
}
