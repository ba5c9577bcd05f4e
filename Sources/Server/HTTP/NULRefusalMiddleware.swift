import HTTPTypes
import Hummingbird

/// Refuses a request with a NUL character (U+0000) in its path or its
/// query, raw or percent-encoded, with a 400 that says where: no store can
/// keep it as text (PostgreSQL refuses it) and no identifier or query
/// parameter has a use for it. Header values cannot hold one (RFC 9110
/// §5.5; the HTTP parser refuses it first), JSON bodies are checked by the
/// JSON reader (`\u0000` in a string), AQL text by the AQL lexer, XML by
/// the XML reader.
struct NULRefusalMiddleware: RouterMiddleware {
    typealias Context = SocleRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let uri = request.uri.description
        if let part = Self.nulPart(uri) {
            throw HTTPRequestError(status: .badRequest, message: "the request \(part) holds a NUL character (U+0000, %00), which no identifier or parameter may contain")
        }
        return try await next(request, context)
    }

    /// "path" or "query" when that part of the URI holds a NUL, raw or as `%00`.
    static func nulPart(_ uri: String) -> String? {
        let bytes = Array(uri.utf8)
        var inQuery = false
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "?") { inQuery = true }
            let encoded = byte == UInt8(ascii: "%") && index + 2 < bytes.count && bytes[index + 1] == UInt8(ascii: "0") && bytes[index + 2] == UInt8(ascii: "0")
            if byte == 0 || encoded { return inQuery ? "query" : "path" }
            index += 1
        }
        return nil
    }
}
