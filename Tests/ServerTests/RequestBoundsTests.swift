import Foundation
import Glibc
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JSONCore
import Logging
import NIOCore
import ServiceLifecycle
import SocleTestSupport
import Storage
import Synchronization
import Testing

@testable import Server

/// Issue 18 §7: the request timeout (503 with a clear body, in the
/// surface's error format), the body size limit (413, nothing stored), and
/// SIGTERM's drain: in-flight requests finish, new connections are refused,
/// and what outlives the grace period is cancelled.
@Suite("Request bounds")
struct RequestBoundsTests {
    /// A router with the timeout and the error rendering of Socle's, and
    /// handlers that are slow, stubborn (finish although cancelled) or fast.
    final class Count: Sendable {
        let value = Mutex(0)
    }

    static func timeoutRouter(_ timeout: Duration, cancelled: Count) -> Router<SocleRequestContext> {
        let router = Router(context: SocleRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: RequestTimeoutMiddleware(timeout: timeout))
        for prefix in ["", "/fhir"] {
            router.get(RouterPath(prefix + "/slow")) { _, _ -> Response in
                do {
                    try await Task.sleep(for: .seconds(600))
                } catch {
                    cancelled.value.withLock { $0 += 1 }
                    throw error
                }
                return Response(status: .ok)
            }
        }
        router.get("stubborn") { _, _ -> Response in
            // Work that cannot be interrupted (a commit under way): it ends, and its answer is given.
            let started = ContinuousClock.now
            while ContinuousClock.now - started < .milliseconds(400) { await Task.yield() }
            return Response(status: .created)
        }
        router.get("refused") { _, _ -> Response in
            // Work that ends, although cancelled, with a refusal of its own: that refusal is the answer.
            let started = ContinuousClock.now
            while ContinuousClock.now - started < .milliseconds(400) { await Task.yield() }
            throw HTTPRequestError(status: .notFound, message: "nothing here")
        }
        router.get("fast") { _, _ in Response(status: .ok) }
        return router
    }

    @Test
    func aRequestPastTheTimeoutIsCancelledAndAnswered503() async throws {
        let cancelled = Count()
        let app = Application(router: Self.timeoutRouter(.milliseconds(150), cancelled: cancelled), logger: Logger(label: "socle.test"))
        try await app.test(.router) { client in
            try await client.execute(uri: "/slow", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "1")
                let body = try JSONParser.parse(String(buffer: response.body))
                #expect(body["message"]?.stringValue?.contains("not answered within 0.15 s (SOCLE_REQUEST_TIMEOUT) and was cancelled") == true, "\(body)")
            }
            // The handler was cancelled, not waited for (it would have slept ten minutes).
            #expect(cancelled.value.withLock { $0 } == 1)
            try await client.execute(uri: "/fhir/slow", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let body = try JSONParser.parse(String(buffer: response.body))
                #expect(body["resourceType"] == "OperationOutcome" && body["issue"]?.arrayValue?.first?["code"] == "transient", "\(body)")
            }
            try await client.execute(uri: "/stubborn", method: .get) { response in #expect(response.status == .created) }
            try await client.execute(uri: "/refused", method: .get) { response in #expect(response.status == .notFound) }
            try await client.execute(uri: "/fast", method: .get) { response in #expect(response.status == .ok) }
        }
    }

    /// A body over `SOCLE_MAX_BODY_SIZE`: 413 with the reason, an error JSON
    /// or an OperationOutcome, and nothing stored.
    @Test(arguments: TestEngine.available)
    func aBodyOverTheLimitIsRefusedWith413(engine: TestEngine) async throws {
        try await TestServer.with(engine, configure: { $0.maximumBodySize = 1024 }) { server in
            let ehrID = try await server.createEHR()
            let before = try await server.database.rowCounts()
            let padding = String(repeating: "x", count: 2048)
            let composition = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition", body: #"{"_type":"COMPOSITION","pad":"\#(padding)"}"#)
            #expect(composition.status == .contentTooLarge)
            #expect(composition.json["message"]?.stringValue?.contains("larger than this server accepts (SOCLE_MAX_BODY_SIZE)") == true, "\(composition.body)")
            let patient = try await server.send(
                .post, "/fhir/Patient", headers: ["Content-Type": "application/fhir+json"], body: #"{"resourceType":"Patient","id":"\#(padding)"}"#)
            #expect(patient.status == .contentTooLarge)
            #expect(patient.json["resourceType"] == "OperationOutcome" && patient.json["issue"]?.arrayValue?.first?["code"] == "too-costly", "\(patient.body)")
            #expect(try await server.database.rowCounts() == before)
            // Under the limit, the same route works.
            #expect(try await server.send(.post, "/fhir/Patient", headers: ["Content-Type": "application/fhir+json"], body: #"{"resourceType":"Patient"}"#).status == .created)
        }
    }

    /// SIGTERM (here its trigger, the service group's graceful shutdown):
    /// a request whose body is still arriving is answered, a new connection
    /// is refused meanwhile, and the group ends; then the database is closed.
    @Test(arguments: TestEngine.available)
    func shutdownDrainsARequestInFlight(engine: TestEngine) async throws {
        let database = try await TestDatabase.make(engine)
        defer { Task { await database.remove() } }
        let admin = TestServer.admin
        var configuration = ServerConfiguration(host: "127.0.0.1", port: 0, systemID: "socle.test", authentication: .basic([admin]))
        configuration.shutdownGracePeriod = .seconds(20)
        let components = try await SocleServer.open(configuration, store: database.store)
        let logger = Logger(label: "socle.test")
        let port = Mutex<Int?>(nil)
        let application = SocleServer.application(components, logger: logger) { channel in port.withLock { $0 = channel.localAddress?.port } }
        let group = SocleServer.serviceGroup(application, configuration, signals: [], logger: logger)
        let running = Task { try await group.run() }
        var bound: Int?
        for _ in 0..<200 where bound == nil {
            try await Task.sleep(for: .milliseconds(25))
            bound = port.withLock { $0 }
        }
        let serverPort = try #require(bound)

        let body = statusJSON()
        let (first, rest) = (body.prefix(body.count / 2), body.dropFirst(body.count / 2))
        let credentials = Data("\(admin.name):\(admin.password)".utf8).base64EncodedString()
        let connection = try RawConnection(port: serverPort)
        try connection.send(
            "POST /openehr/v1/ehr HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic \(credentials)\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + first)
        try await Task.sleep(for: .milliseconds(300))
        await group.triggerGracefulShutdown()
        // The listener closes (at once, or soon on a loaded machine) while the request is still waiting for its body.
        var refused = false
        for _ in 0..<100 where !refused {
            try await Task.sleep(for: .milliseconds(100))
            refused = (try? RawConnection(port: serverPort)) == nil
        }
        #expect(refused, "a new connection is refused while draining")
        try connection.send(String(rest))
        let answer = try await connection.receiveAll()
        #expect(answer.hasPrefix("HTTP/1.1 201"), "\(answer.prefix(300))")
        try await running.value
        await #expect(throws: (any Error).self) { _ = try await components.store.versions.ehrIDs() }
    }

    /// What outlives the grace period is cancelled: a request whose body
    /// never comes does not hold the shutdown past it.
    @Test
    func theGracePeriodBoundsTheDrain() async throws {
        let database = try await TestDatabase.make(.sqlite)
        defer { Task { await database.remove() } }
        var configuration = ServerConfiguration(host: "127.0.0.1", port: 0, systemID: "socle.test", authentication: .none)
        configuration.shutdownGracePeriod = .milliseconds(500)
        let components = try await SocleServer.open(configuration, store: database.store)
        let logger = Logger(label: "socle.test")
        let port = Mutex<Int?>(nil)
        let group = SocleServer.serviceGroup(
            SocleServer.application(components, logger: logger) { channel in port.withLock { $0 = channel.localAddress?.port } }, configuration,
            signals: [], logger: logger)
        let running = Task { try await group.run() }
        var bound: Int?
        for _ in 0..<200 where bound == nil {
            try await Task.sleep(for: .milliseconds(25))
            bound = port.withLock { $0 }
        }
        let connection = try RawConnection(port: try #require(bound))
        try connection.send("POST /openehr/v1/ehr HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
        try await Task.sleep(for: .milliseconds(200))
        await group.triggerGracefulShutdown()
        // The group ends although the request never completes: past the grace
        // period the request is cancelled. A minute is the bound that says it did not.
        let ended = await withTaskGroup(of: Bool.self) { race in
            race.addTask {
                _ = try? await running.value
                return true
            }
            race.addTask {
                try? await Task.sleep(for: .seconds(60))
                return false
            }
            let first = await race.next() ?? false
            if !first { running.cancel() }
            race.cancelAll()
            return first
        }
        #expect(ended, "the shutdown waited past its grace period for a request that never completes")
        // The unfinished request got no answer: its connection was closed.
        let answer = try await connection.receiveAll()
        #expect(!answer.hasPrefix("HTTP/1.1 2"), "\(answer.prefix(200))")
    }
}

/// A blocking TCP connection to 127.0.0.1, for the requests a client
/// library would not send (a body that stops halfway).
final class RawConnection: @unchecked Sendable {
    struct Failure: Error { let what: String }
    let socket: Int32

    init(port: Int) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw Failure(what: "socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(socket)
            throw Failure(what: "connect: errno \(errno)")
        }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(socket) }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(what: "send: errno \(errno)") }
            sent += n
        }
    }

    /// Everything until the server closes (or 30 s pass), read off the cooperative pool.
    func receiveAll() async throws -> String {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var received: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 8192)
                while true {
                    let n = buffer.withUnsafeMutableBytes { recv(self.socket, $0.baseAddress, $0.count, 0) }
                    if n <= 0 { break }
                    received += buffer[0..<n]
                }
                continuation.resume(returning: String(decoding: received, as: UTF8.self))
            }
        }
    }
}
