import Hummingbird
import JSONCore

/// `GET /openapi.json`, `GET /openapi.yaml` and `GET /docs`: public, at the
/// root only, written once at start from the catalogue.
enum APIDescriptionRoutes {
    static func register(on router: Router<SocleRequestContext>, version: String) {
        let document = OpenAPIDocument.json(version: version)
        let json = ByteBuffer(bytes: JSONSerializer.bytes(document))
        let yaml = ByteBuffer(string: OpenAPIDocument.yaml(document))
        let page = ByteBuffer(string: DocsPage.html(version: version))
        router.get("openapi.json") { _, _ in answer(json, "application/json") }
        router.get("openapi.yaml") { _, _ in answer(yaml, "application/yaml") }
        router.get("docs") { _, _ in answer(page, "text/html; charset=utf-8") }
    }

    static func answer(_ body: ByteBuffer, _ mediaType: String) -> Response {
        Response(status: .ok, headers: [.contentType: mediaType], body: ResponseBody(byteBuffer: body))
    }
}
