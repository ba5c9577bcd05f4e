import Foundation
import Logging
import SocleTestSupport
import Storage
import Synchronization
import Testing

/// PostgreSQL for production: `sslmode` (libpq's meanings), the pool size
/// and the statement timeout; the statement timeout on SQLite.
@Suite("Database settings: TLS, pool size, statement timeout")
struct DatabaseSettingsTests {
    static let logger = Logger(label: "socle.test")

    @Test func databaseURLsAreReadAsLibpqReadsThem() throws {
        let plain = try #require(try PostgresURL("postgres://socle:p%40ss@db.example:6543/clinical"))
        #expect(plain.user == "socle" && plain.password == "p@ss" && plain.host == "db.example" && plain.port == 6543 && plain.database == "clinical")
        #expect(plain.sslMode == .prefer && plain.sslRootCertificate == nil)
        for mode in PostgresURL.SSLMode.allCases {
            #expect(try PostgresURL("postgresql://u@h/d?sslmode=\(mode.rawValue)")?.sslMode == mode)
        }
        let rooted = try #require(try PostgresURL("postgres://u@h/d?sslmode=verify-full&sslrootcert=%2Fetc%2Fsocle%2Fca.pem"))
        #expect(rooted.sslMode == .verifyFull && rooted.sslRootCertificate == "/etc/socle/ca.pem")
        #expect(throws: PostgresURL.Problem.self) { try PostgresURL("postgres://u@h/d?sslmode=sometimes") }
        #expect(throws: PostgresURL.Problem.self) { try PostgresURL("postgres://u@h/d?application_name=x") }
        // A parameter with no name is refused, not a crash.
        #expect(throws: PostgresURL.Problem.self) { try PostgresURL("postgres://u@h/d?=") }
        #expect(throws: PostgresURL.Problem.self) { try PostgresURL("postgres://u@h/d?sslmode=require&=x") }
        #expect(try PostgresURL("mysql://u@h/d") == nil)
        // The configuration error names the parameter, never the password.
        do {
            _ = try DatabaseLocation("postgres://u:secret@h/d?sslmode=sometimes")
            Issue.record("accepted")
        } catch {
            #expect(error.description.contains("sslmode=sometimes") && !error.description.contains("secret"))
        }
        do {
            _ = try DatabaseLocation("postgress://u:secret@h/d")
            Issue.record("accepted")
        } catch {
            #expect(!error.description.contains("secret"))
        }
    }

    static var postgres: PostgresURL? {
        ProcessInfo.processInfo.environment["SOCLE_TEST_POSTGRES_URL"].flatMap { try? PostgresURL($0) }
    }

    /// Whether the connection of a database is encrypted, by the server's own account.
    static func encrypted(_ database: PostgreSQLDatabase) async throws -> Bool {
        try await database.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").first?.bool(0) ?? false
    }

    static func with<T>(_ url: PostgresURL, settings: DatabaseSettings = DatabaseSettings(), _ body: (PostgreSQLDatabase) async throws -> T) async throws -> T {
        let database = try PostgreSQLDatabase(url: url, settings: settings, logger: logger)
        do {
            let value = try await body(database)
            try await database.close()
            return value
        } catch {
            try? await database.close()
            throw error
        }
    }

    /// CI's PostgreSQL has TLS on, with a certificate for 127.0.0.1 signed by
    /// itself (`SOCLE_TEST_POSTGRES_CA`); a server without TLS is tested too.
    @Test(.enabled(if: postgres != nil))
    func sslModesConnectAsLibpqWould() async throws {
        var url = try #require(Self.postgres)
        url.sslMode = .disable
        let serverHasTLS = try await Self.with(url) { database in
            #expect(try await Self.encrypted(database) == false)
            return try await database.query("SHOW ssl").first?.string(0) == "on"
        }
        url.sslMode = .prefer
        #expect(try await Self.with(url) { try await Self.encrypted($0) } == serverHasTLS)
        url.sslMode = .require
        if serverHasTLS {
            #expect(try await Self.with(url) { try await Self.encrypted($0) })
            // Not trusted by the system: verify-full refuses to connect, and says why.
            url.sslMode = .verifyFull
            do {
                try await Self.with(url) { try await $0.checkConnection() }
                Issue.record("an untrusted certificate was accepted")
            } catch let error as StoreError {
                #expect(error.code == .unavailable && error.message.contains("CERTIFICATE_VERIFY_FAILED"), "\(error)")
            }
            if let ca = ProcessInfo.processInfo.environment["SOCLE_TEST_POSTGRES_CA"] {
                url.sslRootCertificate = ca
                #expect(try await Self.with(url) { try await Self.encrypted($0) })
            }
        } else {
            await #expect(throws: StoreError.self) { try await Self.with(url) { try await $0.checkConnection() } }
        }
    }

    /// Two transactions that lock two tables in opposite orders: PostgreSQL
    /// rolls one back (SQLSTATE 40P01), which is a `StoreError.conflict`
    /// (try again), not an unexpected error; the other commits.
    @Test(.enabled(if: postgres != nil))
    func aDeadlockIsAConflict() async throws {
        let url = try #require(Self.postgres)
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let (a, b) = ("deadlock_a_\(suffix)", "deadlock_b_\(suffix)")
        try await Self.with(url) { database in
            try await database.migrate(["CREATE TABLE \(a) (n INTEGER)", "CREATE TABLE \(b) (n INTEGER)", "INSERT INTO \(a) VALUES (0)", "INSERT INTO \(b) VALUES (0)"])
            // Each takes its first table, waits (up to 30 s, a loaded machine) until the other holds its own, then asks for it.
            func crossing(_ first: String, _ second: String) -> [SQLStatement] {
                [
                    SQLStatement("UPDATE \(first) SET n = n + 1"),
                    SQLStatement(
                        """
                        DO $$ DECLARE waited INTEGER := 0; BEGIN
                          WHILE waited < 600 AND NOT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                            WHERE c.relname = '\(second)' AND l.mode = 'RowExclusiveLock' AND l.pid <> pg_backend_pid()) LOOP
                            PERFORM pg_sleep(0.05); waited := waited + 1;
                          END LOOP; END $$
                        """),
                    SQLStatement("UPDATE \(second) SET n = n + 1"),
                ]
            }
            async let one: Result<Void, any Error> = { do { try await database.transaction(crossing(a, b)); return .success(()) } catch { return .failure(error) } }()
            async let two: Result<Void, any Error> = { do { try await database.transaction(crossing(b, a)); return .success(()) } catch { return .failure(error) } }()
            let results = await [one, two]
            let failures = results.compactMap { result -> (any Error)? in if case .failure(let error) = result { error } else { nil } }
            #expect(failures.count == 1)
            #expect((failures.first as? StoreError)?.code == .conflict, "\(failures)")
            try await database.migrate(["DROP TABLE \(a)", "DROP TABLE \(b)"])
        }
    }

    /// The pool never opens more connections than its size.
    @Test(.enabled(if: postgres != nil))
    func thePoolSizeBoundsTheConnections() async throws {
        let url = try #require(Self.postgres)
        let backends = try await Self.with(url, settings: DatabaseSettings(poolSize: 2)) { database in
            try await withThrowingTaskGroup(of: Int64.self) { group in
                for _ in 0..<8 {
                    group.addTask { try await database.query("SELECT pg_backend_pid() FROM pg_sleep(0.1)").first?.int(0) ?? 0 }
                }
                var pids: Set<Int64> = []
                for try await pid in group { pids.insert(pid) }
                return pids
            }
        }
        #expect(backends.count <= 2 && !backends.isEmpty)
    }

    /// At trace, what PostgresNIO reports about a statement (the rows it received)
    /// reaches the server's log; above debug the statements are given a logger that
    /// drops everything, since PostgresNIO reports nothing higher there.
    @Test(.enabled(if: postgres != nil))
    func statementsReportToTheLogBelowInfoOnly() async throws {
        let url = try #require(Self.postgres)
        for level: Logger.Level in [.trace, .info] {
            let records = RecordedLog()
            var logger = Logger(label: "socle.test") { _ in records }
            logger.logLevel = level
            let database = try PostgreSQLDatabase(url: url, settings: DatabaseSettings(poolSize: 1), logger: logger)
            #expect(try await database.query("SELECT 42").first?.int(0) == 42)
            try await database.close()
            let reports = records.messages.filter { $0.contains("Row stream received rows") }
            #expect(level == .trace ? reports.count == 1 : reports.isEmpty, "\(level): \(records.messages)")
        }
    }

    /// A statement running longer than the timeout is stopped with
    /// `StoreError.timeout`, on either engine.
    @Test(arguments: TestEngine.available)
    func aStatementPastTheTimeoutIsStopped(engine: TestEngine) async throws {
        let settings = DatabaseSettings(statementTimeout: .seconds(1))
        switch engine {
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("socle-timeout-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            let database = try SQLiteDatabase(path: folder.appendingPathComponent("t.sqlite").path, statementTimeout: settings.statementTimeout)
            await #expect(throws: StoreError(.timeout, "the statement ran longer than the statement timeout (1.0 seconds)")) {
                _ = try await database.query("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT COUNT(*) FROM n")
            }
            // The database serves the next statement. The timeout also counts the wait for a
            // connection, which a loaded machine (every suite at once on two cores) can stretch
            // past 1 s: a few attempts, as a client would retry.
            var answer: Int64?
            for _ in 0..<10 where answer == nil { answer = try? await database.query("SELECT 1").first?.int(0) }
            #expect(answer == 1)
            try await database.close()
        case .postgresql:
            let url = try #require(Self.postgres)
            do {
                try await Self.with(url, settings: settings) { database in
                    // A connection opened first: on a loaded machine (every suite at once) a new pool's
                    // first connection once took most of the deadline, which also counts the wait for one.
                    var open = false
                    for _ in 0..<3 where !open { open = (try? await database.query("SELECT 1")) != nil }
                    _ = try await database.query("SELECT pg_sleep(30)")
                }
                Issue.record("the statement ran to its end")
            } catch let error as StoreError {
                #expect(error.code == .timeout, "\(error)")
            }
        }
    }
}

/// A log handler that keeps each message with its metadata.
final class RecordedLog: LogHandler, Sendable {
    private let recorded = Mutex<[String]>([])
    private let level = Mutex<Logger.Level>(.info)
    var messages: [String] { recorded.withLock { $0 } }
    var metadata: Logger.Metadata {
        get { [:] }
        set {}
    }
    var logLevel: Logger.Level {
        get { level.withLock { $0 } }
        set { level.withLock { $0 = newValue } }
    }
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}
    }
    func log(event: LogEvent) {
        recorded.withLock { $0.append("\(event.message) \(event.metadata ?? [:])") }
    }
}
