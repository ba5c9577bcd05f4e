import HTTPTypes
import Hummingbird
import JSONCore
import OpenEHR
import Services
import Storage

/// The one place where errors under `/fhir` become responses: an
/// OperationOutcome (R4 §OperationOutcome, §http) with, per problem, its
/// severity, an issue code the status implies, the diagnostics and its
/// FHIRPath location; in the format the client asked for, JSON otherwise.
/// A 500 is logged with its detail; the client gets the request id.
struct FHIROutcomeMiddleware: RouterMiddleware {
    typealias Context = SocleRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return Self.response(for: error, request: request, context: context)
        }
    }

    static func response(for error: any Error, request: Request, context: Context) -> Response {
        var headers = HTTPFields()
        let status: HTTPResponse.Status
        var message: String
        var problems: [DecodingProblem] = []
        switch error {
        case let error as ServiceError:
            (status, message, problems) = ErrorMiddleware.render(error, into: &headers)
            if let latest = error.latestVersion { headers[.eTag] = "W/\"\(latest.versionNumber)\"" }
        case let error as StoreError:
            (status, message, problems) = ErrorMiddleware.render(ServiceError(error), into: &headers)
        case let error as JSONParseError:
            status = .badRequest
            message = "the body is not valid JSON: \(error.message) at line \(error.line), column \(error.column)"
            problems = [DecodingProblem(path: error.path.isEmpty ? "(body)" : error.path, message: error.message)]
        case let error as HTTPRequestError:
            status = error.status
            message = error.message
            headers.append(contentsOf: error.headers)
        case let error as any HTTPResponseError:
            status = error.status
            message = status == .notFound ? "no FHIR interaction at \(request.uri.path)" : status.reasonPhrase
            if status == .contentTooLarge { message = "the request body is larger than this server accepts" }
        default:
            status = .internalServerError
            message = "internal error; the server log has the detail under this request id"
            context.logger.error("unhandled error", metadata: ["socle.error": "\(String(reflecting: error))"])
        }
        if let id = context.logger[metadataKey: "socle.request_id"] { message += " (request \(id))" }
        let outcome = operationOutcome(status: status, message: message, problems: problems)
        let format = (try? FHIRFormat.requested(request)) ?? .json
        headers[.eTag] = status == .preconditionFailed ? headers[.eTag] : nil
        return Response.fhir(status, outcome, format: format, pretty: request.fhirPretty, headers: headers)
    }

    /// The OperationOutcome: the message as the first issue, then one issue per problem with its location.
    static func operationOutcome(status: HTTPResponse.Status, message: String, problems: [DecodingProblem]) -> JSON {
        let code = issueCode(status)
        var issues: [JSON] = [["severity": status.code >= 500 ? "fatal" : "error", "code": .string(code), "diagnostics": .string(message)]]
        for problem in problems {
            issues.append([
                "severity": "error", "code": .string(code), "diagnostics": .string(problem.message), "expression": [.string(problem.path)],
            ])
        }
        return .object(JSONObject([("resourceType", "OperationOutcome"), ("issue", .array(issues))]))
    }

    /// The IssueType (R4 ValueSet issue-type) a status stands for.
    static func issueCode(_ status: HTTPResponse.Status) -> String {
        switch status.code {
        case 400: "invalid"
        case 401: "login"
        case 403: "forbidden"
        case 404: "not-found"
        case 405, 406, 415: "not-supported"
        case 409, 412: "conflict"
        case 410: "deleted"
        case 413: "too-costly"
        case 422: "processing"
        case 503: "transient"
        default: "exception"
        }
    }
}
