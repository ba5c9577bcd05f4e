import HTTPTypes
import Hummingbird
import Logging
import OpenEHR

/// Gives every request an id, in the logger metadata (`socle.request_id`)
/// and the `X-Request-Id` response header, and logs one line per request:
/// method, path template, status and duration. No patient data: paths are
/// logged as their route templates, not with their ids.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = SocleRequestContext
    static let header = HTTPField.Name("X-Request-Id")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let id = request.headers[Self.header].flatMap { $0.count <= 64 ? $0 : nil } ?? UUIDText.random()
        context.logger[metadataKey: "socle.request_id"] = "\(id)"
        context.requestID = id
        let start = ContinuousClock.now
        var response = try await next(request, context)
        response.headers[Self.header] = id
        let elapsed = ContinuousClock.now - start
        context.logger.info(
            "request",
            metadata: [
                "socle.method": "\(request.method)",
                "socle.route": "\(context.endpointPath ?? "unmatched")",
                "socle.status": "\(response.status.code)",
                "socle.duration_ms": "\(Double(elapsed.components.attoseconds / 1_000_000_000_000) / 1000 + Double(elapsed.components.seconds) * 1000)",
            ])
        return response
    }
}
