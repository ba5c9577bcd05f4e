import FHIR
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
        let classified = ClassifiedError(error, request: request, context: context)
        var headers = classified.headers
        if let latest = classified.latestVersion { headers[.eTag] = "W/\"\(latest.versionNumber)\"" }
        var message = classified.message
        if let id = context.logger[metadataKey: "socle.request_id"] { message += " (request \(id))" }
        let outcome = FHIRIssue.outcome(
            classified.status.code >= 500 ? .fatal : .error, code: issueCode(classified.status), message: message,
            problems: classified.problems.map { ($0.path, $0.message) })
        return Response.fhir(classified.status, outcome, format: (try? FHIRFormat.requested(request)) ?? .json, pretty: request.fhirPretty, headers: headers)
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
