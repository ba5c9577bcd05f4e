import Hummingbird
import Services
import Synchronization

/// Bounds the requests in flight (`SOCLE_MAX_CONCURRENT_REQUESTS`): past the
/// limit a request waits, first come first served, up to `wait`, then gets
/// 503 with `Retry-After`; so that a burst queues here, in order and
/// bounded, rather than in the database pool, where it would turn into
/// statement timeouts.
final class RequestLimiter: Sendable {
    let limit: Int
    let wait: Duration

    struct State {
        var active = 0
        var nextTicket: UInt64 = 0
        /// Waiting requests by ticket, served in ticket order, with the time each gives up.
        var waiting: [UInt64: (continuation: CheckedContinuation<Bool, Never>, deadline: ContinuousClock.Instant)] = [:]
        /// Tickets in arrival order from `head` on (some given up meanwhile).
        var queue: [UInt64] = []
        var head = 0
        /// Whether a sweeper is giving up overdue requests.
        var sweeping = false

        /// The longest waiting request still waiting, taken off the queue.
        mutating func next() -> CheckedContinuation<Bool, Never>? {
            while head < queue.count {
                let ticket = queue[head]
                head += 1
                if head >= 4096, head * 2 >= queue.count {
                    // What is behind the head is done with: dropped, so a long burst does not grow the queue.
                    queue.removeFirst(head)
                    head = 0
                }
                if let waiter = waiting.removeValue(forKey: ticket) { return waiter.continuation }
            }
            queue.removeAll(keepingCapacity: true)
            head = 0
            return nil
        }
    }

    let state = Mutex(State())

    init(limit: Int, wait: Duration) {
        self.limit = max(1, limit)
        self.wait = wait
    }

    /// True once the request may go on; false when it waited `wait` in vain.
    /// A slot is taken, or the request queued, in one step under the lock,
    /// so that a release in between cannot miss it.
    func acquire() async -> Bool {
        let free = state.withLock { state in
            guard state.active < limit else { return false }
            state.active += 1
            return true
        }
        if free { return true }
        return await withCheckedContinuation { continuation in
            let (queued, startSweeper) = state.withLock { state -> (Bool, Bool) in
                if state.active < limit {
                    state.active += 1
                    return (false, false)
                }
                state.nextTicket += 1
                state.waiting[state.nextTicket] = (continuation, .now + wait)
                state.queue.append(state.nextTicket)
                defer { state.sweeping = true }
                return (true, !state.sweeping)
            }
            if !queued { return continuation.resume(returning: true) }
            if startSweeper { Task { await sweep() } }
        }
    }

    /// Gives up the requests past their deadline, a few times a second, for
    /// as long as any waits: one task for all of them, not one each (a burst
    /// of 512 connections made hundreds of timers).
    func sweep() async {
        let interval = min(wait, .milliseconds(250))
        while true {
            try? await Task.sleep(for: interval)
            let now = ContinuousClock.now
            let (overdue, done) = state.withLock { state -> ([CheckedContinuation<Bool, Never>], Bool) in
                let late = state.waiting.filter { $0.value.deadline <= now }
                for ticket in late.keys { state.waiting.removeValue(forKey: ticket) }
                if state.waiting.isEmpty { state.sweeping = false }
                return (late.values.map(\.continuation), state.waiting.isEmpty)
            }
            for continuation in overdue { continuation.resume(returning: false) }
            if done { return }
        }
    }

    /// Hands the slot to the longest waiting request, or frees it.
    func release() {
        let next: CheckedContinuation<Bool, Never>? = state.withLock { state in
            guard let waiter = state.next() else {
                state.active -= 1
                return nil
            }
            return waiter
        }
        next?.resume(returning: true)
    }
}

struct RequestLimitMiddleware: RouterMiddleware {
    typealias Context = SocleRequestContext
    let limiter: RequestLimiter

    /// Probes and scrapes are not held back by a burst.
    static let exempt = ["/health/", "/rest/health/", "/metrics", "/rest/metrics", "/status", "/rest/status"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if Self.exempt.contains(where: { path.hasPrefix($0) }) { return try await next(request, context) }
        guard await limiter.acquire() else {
            throw ServiceError(
                .unavailable,
                "the server is answering \(limiter.limit) requests and this one waited \(limiter.wait) for its turn (SOCLE_MAX_CONCURRENT_REQUESTS)",
                retryAfter: 1)
        }
        defer { limiter.release() }
        return try await next(request, context)
    }
}
