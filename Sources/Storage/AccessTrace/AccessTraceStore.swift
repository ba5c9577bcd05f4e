import Foundation

/// One stored entry of the access trace: its place in the chain, the
/// columns it is found by, and the entry itself as the exact text that was
/// hashed (docs/architecture.md §Access trace). What the entry means is
/// the Services layer's; Storage keeps rows.
public struct AccessTraceRow: Sendable, Equatable {
    public var seq: Int64
    /// Microseconds since the epoch.
    public var time: Int64
    public var actor: String
    /// The patients whose data the access touched (`EHR/…`, `Patient/…`).
    public var patients: [String]
    /// The entry, as hashed.
    public var entry: String
    /// Hex SHA-256 of the previous row's hash and this entry.
    public var hash: String

    public init(seq: Int64, time: Int64, actor: String, patients: [String], entry: String, hash: String) {
        self.seq = seq
        self.time = time
        self.actor = actor
        self.patients = patients
        self.entry = entry
        self.hash = hash
    }
}

/// A signed statement that the chain had `hash` at `seq`.
public struct AccessTraceCheckpoint: Sendable, Equatable {
    public var seq: Int64
    public var time: Int64
    public var hash: String
    /// The signer's public key (raw, base64).
    public var publicKey: String
    /// The signature (base64) of `AccessTraceCheckpoint.message`.
    public var signature: String

    public init(seq: Int64, time: Int64, hash: String, publicKey: String, signature: String) {
        self.seq = seq
        self.time = time
        self.hash = hash
        self.publicKey = publicKey
        self.signature = signature
    }

    /// The bytes a checkpoint's signature covers.
    public static func message(seq: Int64, time: Int64, hash: String) -> [UInt8] {
        Array("socle-access-trace\n\(seq)\n\(time)\n\(hash)".utf8)
    }
}

/// The access trace's tables, kept apart from clinical data: on SQLite in a
/// database file of its own beside the main one, on PostgreSQL in tables of
/// their own. Rows are only appended; the only deletion is retention's,
/// which removes whole checkpointed stretches from the oldest end.
public struct AccessTraceStore: Sendable {
    let database: any SQLDatabase
    /// Whether the store opened its own database (closed by `close`).
    let ownsDatabase: Bool

    public var kind: DatabaseKind { database.kind }

    /// The trace beside a store: a file `<name>-access-trace.sqlite` next to
    /// a SQLite database, the same database on PostgreSQL.
    public static func beside(_ store: Store) throws -> AccessTraceStore {
        if let sqlite = store.database as? SQLiteDatabase {
            return AccessTraceStore(database: try SQLiteDatabase(path: path(beside: sqlite.path), readers: 2), ownsDatabase: true)
        }
        return AccessTraceStore(database: store.database, ownsDatabase: false)
    }

    /// The trace's file beside a SQLite database file.
    public static func path(beside databasePath: String) -> String {
        URL(fileURLWithPath: databasePath).deletingPathExtension().path + "-access-trace.sqlite"
    }

    /// A consistent copy of the trace's own SQLite file (`socle backup`).
    public func backup(to path: String) throws {
        guard ownsDatabase, let sqlite = database as? SQLiteDatabase else {
            throw StoreError(.invalidValue, "the access trace is in the PostgreSQL database: it is backed up with it")
        }
        try sqlite.copy(to: path)
    }

    /// Where the key that signs checkpoints is kept unless configured:
    /// beside the trace's SQLite file, or under `./socle-data` on PostgreSQL.
    public var defaultKeyPath: String {
        if ownsDatabase, let sqlite = database as? SQLiteDatabase {
            return URL(fileURLWithPath: sqlite.path).deletingPathExtension().path + ".key"
        }
        return "./socle-data/access-trace.key"
    }

    /// Creates the tables when they are missing.
    public func prepare() async throws {
        let big = "BIGINT NOT NULL"
        // On SQLite the entry number is the rowid (INTEGER PRIMARY KEY) and the
        // patient rows are their own index (WITHOUT ROWID): each entry costs
        // one row and one index entry fewer.
        let key = database.kind == .sqlite ? "INTEGER PRIMARY KEY" : "BIGINT PRIMARY KEY"
        let clustered = database.kind == .sqlite ? " WITHOUT ROWID" : ""
        try await database.migrate([
            "CREATE TABLE IF NOT EXISTS access_trace (seq \(key), time \(big), actor TEXT NOT NULL, entry TEXT NOT NULL, hash TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS access_trace_patient (patient TEXT NOT NULL, seq \(big), PRIMARY KEY (patient, seq))\(clustered)",
            "CREATE INDEX IF NOT EXISTS access_trace_time_idx ON access_trace (time)",
            """
            CREATE TABLE IF NOT EXISTS access_trace_checkpoint (seq \(big) PRIMARY KEY, time \(big), hash TEXT NOT NULL,
                public_key TEXT NOT NULL, signature TEXT NOT NULL)
            """,
        ])
    }

    /// The last row's place and hash, if there is a row.
    public func head() async throws -> (seq: Int64, hash: String)? {
        let rows = try await database.query("SELECT seq, hash FROM access_trace ORDER BY seq DESC LIMIT 1")
        guard let row = rows.first, let seq = row.int(0), let hash = row.string(1) else { return nil }
        return (seq, hash)
    }

    /// Appends rows (numbered on from the head) and, when given, a checkpoint,
    /// in one transaction. Another writer that took one of the numbers first
    /// makes it fail with `conflict`: the caller reads the head again.
    public func append(_ rows: [AccessTraceRow], checkpoint: AccessTraceCheckpoint?) async throws {
        let taken = StoreError(.conflict, "another writer appended to the access trace first")
        var statements: [SQLStatement] = []
        // Multi-row inserts, a few hundred rows each: one statement per batch, not per entry.
        for chunk in stride(from: 0, to: rows.count, by: 200).map({ rows[$0..<min($0 + 200, rows.count)] }) {
            statements.append(
                SQLStatement(
                    "INSERT INTO access_trace (seq, time, actor, entry, hash) VALUES "
                        + Array(repeating: "(?, ?, ?, ?, ?)", count: chunk.count).joined(separator: ", "),
                    chunk.flatMap { [.integer($0.seq), .integer($0.time), .text($0.actor), .text($0.entry), .text($0.hash)] }, onUniqueViolation: taken))
        }
        let patients = rows.flatMap { row in Set(row.patients).sorted().map { (patient: $0, seq: row.seq) } }
        for chunk in stride(from: 0, to: patients.count, by: 400).map({ patients[$0..<min($0 + 400, patients.count)] }) {
            statements.append(
                SQLStatement(
                    "INSERT INTO access_trace_patient (patient, seq) VALUES " + Array(repeating: "(?, ?)", count: chunk.count).joined(separator: ", "),
                    chunk.flatMap { [SQLValue.text($0.patient), .integer($0.seq)] }))
        }
        if let checkpoint {
            statements.append(
                SQLStatement(
                    "INSERT INTO access_trace_checkpoint (seq, time, hash, public_key, signature) VALUES (?, ?, ?, ?, ?)",
                    [
                        .integer(checkpoint.seq), .integer(checkpoint.time), .text(checkpoint.hash), .text(checkpoint.publicKey),
                        .text(checkpoint.signature),
                    ], onUniqueViolation: taken))
        }
        guard database.kind == .postgresql, let last = statements.last else { return try await database.transaction(statements) }
        // One statement, one round trip: the inserts but the last as its WITH queries.
        var folded = SQLStatement.folding(statements.dropLast(), into: last)
        folded.onUniqueViolation = taken
        try await database.transaction([folded])
    }

    /// Rows after `seq`, in order, at most `limit`, with their patients.
    public func rows(after seq: Int64, limit: Int) async throws -> [AccessTraceRow] {
        let found = try await database.query(
            "SELECT seq, time, actor, entry, hash FROM access_trace WHERE seq > ? ORDER BY seq LIMIT ?", [.integer(seq), .integer(Int64(limit))])
        return try await withPatients(found)
    }

    /// Rows of some patients (or of anyone), of one actor (or any), in a time window, newest first.
    public func rows(patients: [String]?, actor: String? = nil, from: Int64?, to: Int64?, limit: Int) async throws -> [AccessTraceRow] {
        var conditions: [String] = []
        var binds: [SQLValue] = []
        if let actor {
            conditions.append("actor = ?")
            binds.append(.text(actor))
        }
        if let patients {
            conditions.append("seq IN (SELECT seq FROM access_trace_patient WHERE patient IN (\(patients.map { _ in "?" }.joined(separator: ", "))))")
            binds += patients.map(SQLValue.text)
        }
        if let from {
            conditions.append("time >= ?")
            binds.append(.integer(from))
        }
        if let to {
            conditions.append("time < ?")
            binds.append(.integer(to))
        }
        let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        binds.append(.integer(Int64(limit)))
        let found = try await database.query("SELECT seq, time, actor, entry, hash FROM access_trace\(filter) ORDER BY seq DESC LIMIT ?", binds)
        return try await withPatients(found)
    }

    func withPatients(_ found: [SQLRow]) async throws -> [AccessTraceRow] {
        guard let first = found.first?.int(0), let last = found.last?.int(0) else { return [] }
        let (low, high) = (min(first, last), max(first, last))
        var patients: [Int64: [String]] = [:]
        for row in try await database.query(
            "SELECT seq, patient FROM access_trace_patient WHERE seq BETWEEN ? AND ? ORDER BY seq, patient", [.integer(low), .integer(high)])
        {
            if let seq = row.int(0), let patient = row.string(1) { patients[seq, default: []].append(patient) }
        }
        return found.map { row in
            let seq = row.int(0) ?? 0
            return AccessTraceRow(
                seq: seq, time: row.int(1) ?? 0, actor: row.string(2) ?? "", patients: patients[seq] ?? [], entry: row.string(3) ?? "",
                hash: row.string(4) ?? "")
        }
    }

    /// Patient rows whose entry is not in the trace (left behind by a deletion).
    public func orphanPatientRows() async throws -> [Int64] {
        try await database.query(
            "SELECT DISTINCT seq FROM access_trace_patient WHERE seq NOT IN (SELECT seq FROM access_trace) ORDER BY seq LIMIT 100"
        ).compactMap { $0.int(0) }
    }

    /// Every checkpoint, in order.
    public func checkpoints() async throws -> [AccessTraceCheckpoint] {
        try await database.query("SELECT seq, time, hash, public_key, signature FROM access_trace_checkpoint ORDER BY seq").map { row in
            AccessTraceCheckpoint(
                seq: row.int(0) ?? 0, time: row.int(1) ?? 0, hash: row.string(2) ?? "", publicKey: row.string(3) ?? "",
                signature: row.string(4) ?? "")
        }
    }

    /// Retention: removes the entries up to the newest checkpoint older than
    /// `before`, and the checkpoints below it; that checkpoint stays, the
    /// signed start of what is left. Returns the entries removed.
    @discardableResult
    public func removeEntries(before time: Int64) async throws -> Int {
        guard
            let cut = try await database.query(
                "SELECT seq FROM access_trace_checkpoint WHERE time < ? ORDER BY seq DESC LIMIT 1", [.integer(time)]
            ).first?.int(0)
        else { return 0 }
        let count = try await database.query("SELECT COUNT(*) FROM access_trace WHERE seq <= ?", [.integer(cut)]).first?.int(0) ?? 0
        try await database.transaction([
            SQLStatement("DELETE FROM access_trace_patient WHERE seq <= ?", [.integer(cut)]),
            SQLStatement("DELETE FROM access_trace WHERE seq <= ?", [.integer(cut)]),
            SQLStatement("DELETE FROM access_trace_checkpoint WHERE seq < ?", [.integer(cut)]),
        ])
        return Int(count)
    }

    public func close() async throws {
        if ownsDatabase { try await database.close() }
    }
}
