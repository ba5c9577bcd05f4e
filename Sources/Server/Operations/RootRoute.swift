import Hummingbird
import JSONCore

/// `GET /`: where things are, for a person (HTML, when the browser asks for
/// it) and for a client (JSON): the API roots, the health and metrics
/// endpoints, and the server's version. Public: it says nothing of the data.
enum RootRoute {
    static let roots: [(path: String, what: String)] = [
        ("/docs", "the API, to read and try in a browser"),
        ("/openapi.json", "the API described in OpenAPI 3.0 (also /openapi.yaml)"),
        ("/openehr/v1", "openEHR REST API (ITS-REST 1.0.3 and 1.1), with AQL at /openehr/v1/query"),
        ("/fhir", "HL7 FHIR R4 API; its CapabilityStatement at /fhir/metadata"),
        ("/admin", "administration (admin role)"),
        ("/status", "version, database and schema"),
        ("/health/live", "liveness"),
        ("/health/ready", "readiness: database, schema, projections"),
        ("/metrics", "Prometheus metrics (admin role unless SOCLE_METRICS=public)"),
    ]

    static func register(on router: Router<SocleRequestContext>, version: String) {
        let json = JSONSerializer.bytes([
            "socle_version": .string(version),
            "apis": .object(JSONObject(roots.map { ($0.path, .string($0.what)) })),
        ])
        let items = roots.map { #"<li><a href="\#($0.path)">\#($0.path)</a>: \#(escaped($0.what))</li>"# }.joined(separator: "\n")
        let html = Array(
            """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>Socle \(version)</title></head>
            <body><h1>Socle \(version)</h1><p>A clinical data platform: openEHR, FHIR R4, OMOP.</p>
            <ul>
            \(items)
            </ul></body></html>
            """.utf8)
        router.get("/") { request, _ in
            let accept = request.headers[.accept] ?? ""
            guard accept.contains("text/html") else { return Response.json(bytes: json) }
            var headers = HTTPFields()
            headers[.contentType] = "text/html; charset=utf-8"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: html)))
        }
    }

    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
