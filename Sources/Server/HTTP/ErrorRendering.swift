import HTTPTypes
import Hummingbird
import JSONCore
import OpenEHR
import Services
import Storage

/// The one place where errors become openEHR REST error responses:
/// `{"error", "message", "validationErrors", "problems"}`, where
/// `validationErrors` is the ITS-REST `Error` schema's list of strings and
/// `problems` the same list with each path apart. A 500 means a bug: it is
/// logged with its detail, and the client gets only the request id.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = SocleRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return Self.response(for: error, context: context, request: request)
        }
    }

    static func response(for error: any Error, context: Context, request: Request) -> Response {
        // A refusal before the FHIR routes (a request bound, a timeout) is still a FHIR answer.
        if request.uri.path == "/fhir" || request.uri.path.hasPrefix("/fhir/") {
            return FHIROutcomeMiddleware.response(for: error, request: request, context: context)
        }
        let classified = ClassifiedError(error, request: request, context: context)
        var headers = classified.headers
        if let latest = classified.latestVersion { headers[.eTag] = "\"\(latest)\"" }
        let (status, message, problems) = (classified.status, classified.message, classified.problems)
        var body = JSONObject([("error", .string(status.reasonPhrase)), ("message", .string(message))])
        if !problems.isEmpty {
            body["validationErrors"] = .array(problems.map { .string($0.description) })
            body["problems"] = .array(problems.map { ["path": .string($0.path), "message": .string($0.message)] })
        }
        if let id = context.logger[metadataKey: "socle.request_id"] { body["request_id"] = .string("\(id)") }
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONSerializer.bytes(.object(body)))))
    }

}

/// What an error means, whatever the surface that renders it (openEHR
/// error JSON in `ErrorMiddleware`, an OperationOutcome in
/// `FHIROutcomeMiddleware`): its status, message, located problems and
/// headers. A 500 means a bug: it is logged with its detail here.
struct ClassifiedError {
    var status: HTTPResponse.Status
    var message: String
    var problems: [DecodingProblem] = []
    var headers = HTTPFields()
    /// For 412: the latest version, which each surface writes as its ETag.
    var latestVersion: ObjectVersionID?

    init(_ thrown: any Error, request: Request, context: SocleRequestContext) {
        let error: any Error = (thrown as? StoreError).map { ServiceError($0) } ?? thrown
        switch error {
        case let error as ServiceError:
            status = HTTPResponse.Status(code: error.kind.statusCode, reasonPhrase: error.kind.reasonPhrase)
            message = error.message
            problems = error.problems
            latestVersion = error.latestVersion
            if let seconds = error.retryAfter { headers[.retryAfter] = String(seconds) }
        case let error as RMDecodingError:
            status = .badRequest
            message = "the request body is not a valid \(error.rmType)"
            problems = error.problems
        case let error as JSONParseError:
            status = .badRequest
            message = "the request body is not valid JSON: \(error.message) at line \(error.line), column \(error.column)"
            problems = [DecodingProblem(path: error.path.isEmpty ? "/" : error.path, message: "\(error.message) (line \(error.line), column \(error.column))")]
        case let error as HTTPRequestError:
            status = error.status
            message = error.message
            headers.append(contentsOf: error.headers)
        case let error as any HTTPResponseError:
            status = error.status
            message = status == .notFound ? "no resource at \(request.uri.path)" : status.reasonPhrase
            if status == .contentTooLarge { message = "the request body is larger than this server accepts (SOCLE_MAX_BODY_SIZE)" }
        default:
            status = .internalServerError
            message = "internal error; the server log has the detail under this request id"
            context.logger.error("unhandled error", metadata: ["socle.error": "\(String(reflecting: error))"])
        }
    }
}

/// An HTTP-level refusal (headers, media types, authentication).
struct HTTPRequestError: Error {
    var status: HTTPResponse.Status
    var message: String
    var headers = HTTPFields()
}
