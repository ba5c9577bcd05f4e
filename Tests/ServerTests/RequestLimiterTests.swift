import Testing

@testable import Server

/// The bound on requests in flight: past it a request waits its turn, first
/// come first served, and gives up after the queue timeout (503 above it).
@Suite("Request limiter")
struct RequestLimiterTests {
    actor Order {
        var items: [Int] = []
        func append(_ item: Int) { items.append(item) }
    }

    @Test
    func requestsPastTheLimitWaitInOrderOrGiveUp() async throws {
        let limiter = RequestLimiter(limit: 1, wait: .seconds(60))
        #expect(await limiter.acquire())
        // Two waiters; released slots go to them in arrival order.
        let order = Order()
        let first = Task { @Sendable in
            let got = await limiter.acquire()
            await order.append(1)
            return got
        }
        while limiter.state.withLock({ $0.waiting.count }) < 1 { await Task.yield() }
        let second = Task { @Sendable in
            let got = await limiter.acquire()
            await order.append(2)
            return got
        }
        while limiter.state.withLock({ $0.waiting.count }) < 2 { await Task.yield() }
        limiter.release()
        #expect(await first.value)
        limiter.release()
        #expect(await second.value)
        #expect(await order.items == [1, 2])
        limiter.release()
        #expect(limiter.state.withLock { $0.active } == 0)

        // A request that waits past the timeout is refused, and leaves no trace.
        let short = RequestLimiter(limit: 1, wait: .milliseconds(20))
        #expect(await short.acquire())
        #expect(await short.acquire() == false)
        #expect(short.state.withLock { $0.waiting.isEmpty && $0.active == 1 })
        short.release()
        #expect(await short.acquire())
    }

    /// Through the server: with the bound at 1 a request still gets its
    /// answer (one at a time), and probes pass outside the bound.
    @Test
    func theServerAnswersUnderItsBound() async throws {
        try await TestServer.with(.sqlite, maximumConcurrentRequests: 1) { server in
            let ehr = try await server.createEHR()
            let reply = try await server.send(.get, "/openehr/v1/ehr/\(ehr)")
            #expect(reply.status == .ok)
            let live = try await server.send(.get, "/health/live", as: nil)
            #expect(live.status == .ok)
        }
    }
}
