import Hummingbird
import Services

/// Bounds the time a request is worked on (`SOCLE_REQUEST_TIMEOUT`). Past
/// it the handler is cancelled (GRDB interrupts a running SQLite statement;
/// a transaction not yet committed rolls back; a PostgreSQL statement runs
/// to its end or to the statement timeout) and the request answers 503, saying so. A handler that still finishes, because its commit was already
/// under way, gives its own answer: a write that happened is never reported
/// as refused.
struct RequestTimeoutMiddleware: RouterMiddleware {
    typealias Context = SocleRequestContext
    let timeout: Duration

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try await withoutActuallyEscaping(next) { next in
            // The group waits for its tasks before it returns, so `next` is not used past this scope.
            let handler = UncheckedSendable(next)
            return try await withThrowingTaskGroup(of: Response?.self) { group in
                group.addTask { try await handler.value(request, context) }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                do {
                    if let first = try await group.next(), let response = first {
                        group.cancelAll()
                        return response
                    }
                } catch {
                    group.cancelAll()
                    throw error
                }
                // The timer came first: cancel the handler and see how it ends.
                group.cancelAll()
                do {
                    while let result = try await group.next() {
                        if let response = result { return response }
                    }
                } catch let error as ServiceError where error.kind.statusCode < 500 {
                    throw error
                } catch let error as HTTPRequestError where error.status.code < 500 {
                    throw error
                } catch {}
                throw ServiceError(
                    .unavailable,
                    "the request was not answered within \(Self.describe(timeout)) (SOCLE_REQUEST_TIMEOUT) and was cancelled; a write is committed whole or not at all: read before retrying",
                    retryAfter: 1)
            }
        }
    }

    static func describe(_ duration: Duration) -> String {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
    }
}

/// A value the compiler cannot prove safe to send, whose use is confined by its caller (see above).
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
