import Foundation
import Logging
import Server
import ServiceLifecycle
import SocleTestSupport
import Storage
import Synchronization
import Testing

/// The server's service group: on SIGTERM the HTTP server drains its
/// in-flight requests first, and only then does the database close.
@Suite("Service lifecycle")
struct LifecycleTests {
    /// Stands for the HTTP server, which Hummingbird places after the
    /// application's services: on shutdown it still reads the database
    /// for a while, as a request being drained would.
    final class DrainingServer: Service {
        let store: Store
        let drained = Mutex<Result<Int, any Error>?>(nil)

        init(store: Store) { self.store = store }

        func run() async throws {
            try? await gracefulShutdown()
            try await Task.sleep(for: .milliseconds(200))
            let result: Result<Int, any Error>
            do { result = .success(try await store.versions.ehrIDs().count) } catch { result = .failure(error) }
            drained.withLock { $0 = result }
        }
    }

    @Test(arguments: TestEngine.available)
    func theDatabaseClosesAfterTheServerHasDrained(engine: TestEngine) async throws {
        let database = try await TestDatabase.make(engine)
        let logger = Logger(label: "socle.test")
        let components = try await SocleServer.open(ServerConfiguration(systemID: "socle.test"), store: database.store)
        let server = DrainingServer(store: components.store)
        let group = ServiceGroup(configuration: .init(services: SocleServer.services(components, logger: logger) + [server], gracefulShutdownSignals: [], logger: logger))
        let running = Task { try await group.run() }
        try await Task.sleep(for: .milliseconds(100))
        await group.triggerGracefulShutdown()
        try await running.value
        let drained = server.drained.withLock { $0 }
        guard case .success(let count)? = drained else {
            Issue.record("the draining request could not read the database: \(String(describing: drained))")
            return
        }
        #expect(count == 0)
        // Then the database was closed.
        await #expect(throws: (any Error).self) { _ = try await components.store.versions.ehrIDs() }
        await database.remove()
    }
}
