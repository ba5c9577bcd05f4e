import Crypto
import Foundation
import JSONCore
import Storage

/// What `socle audit verify` found: the entries and checkpoints checked, and
/// every problem, each naming the entry (`seq`) where it shows.
public struct AccessTraceReport: Sendable {
    public var entries = 0
    public var checkpoints = 0
    public var first: Int64?
    public var last: Int64?
    public var problems: [String] = []

    public var isIntact: Bool { problems.isEmpty }
}

extension AccessTrace {
    /// Walks the whole trace: the numbers are consecutive, each hash is the
    /// hash of its entry on the previous one, the columns a search reads
    /// agree with the entry, each checkpoint is signed by `publicKey` and
    /// matches the chain at its place, and nothing is missing after the last
    /// checkpoint. A change, a deletion or a reordering breaks one of these.
    public static func verify(_ store: AccessTraceStore, publicKey: String, pageSize: Int = 2_000) async throws -> AccessTraceReport {
        var report = AccessTraceReport()
        let checkpoints = try await store.checkpoints()
        report.checkpoints = checkpoints.count
        let bySeq = Dictionary(checkpoints.map { ($0.seq, $0) }, uniquingKeysWith: { first, _ in first })
        for checkpoint in checkpoints { report.problems += problems(of: checkpoint, publicKey: publicKey) }

        var previous: (seq: Int64, hash: String)?
        var after: Int64 = 0
        while true {
            let rows = try await store.rows(after: after, limit: pageSize)
            guard let lastRow = rows.last else { break }
            for row in rows {
                if previous == nil { previous = start(before: row.seq, bySeq, &report) }
                report.problems += problems(of: row, following: previous!, checkpoint: bySeq[row.seq])
                previous = (row.seq, row.hash)
                report.entries += 1
                report.first = report.first ?? row.seq
                report.last = row.seq
            }
            after = lastRow.seq
        }
        if let newest = checkpoints.last, newest.seq > (report.last ?? 0) {
            report.problems.append(
                "entries \((report.last ?? 0) + 1) to \(newest.seq) are missing: the checkpoint at \(newest.seq) signed them")
        }
        for seq in try await store.orphanPatientRows() {
            report.problems.append("entry \(seq): its patient rows remain but the entry is missing")
        }
        return report
    }

    /// Where the chain starts: at the beginning, or at the checkpoint retention kept.
    static func start(before seq: Int64, _ checkpoints: [Int64: AccessTraceCheckpoint], _ report: inout AccessTraceReport) -> (Int64, String) {
        if seq == 1 { return (0, genesis) }
        if let kept = checkpoints[seq - 1] { return (kept.seq, kept.hash) }
        report.problems.append("entries 1 to \(seq - 1) are missing and no checkpoint marks where retention ended")
        return (seq - 1, "")
    }

    static func problems(of checkpoint: AccessTraceCheckpoint, publicKey: String) -> [String] {
        guard checkpoint.publicKey == publicKey else {
            return ["checkpoint at \(checkpoint.seq) is signed by another key than this trace's"]
        }
        guard let raw = Data(base64Encoded: publicKey), let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw),
            let signature = Data(base64Encoded: checkpoint.signature),
            key.isValidSignature(signature, for: AccessTraceCheckpoint.message(seq: checkpoint.seq, time: checkpoint.time, hash: checkpoint.hash))
        else { return ["checkpoint at \(checkpoint.seq) has a signature that does not verify"] }
        return []
    }

    static func problems(of row: AccessTraceRow, following previous: (seq: Int64, hash: String), checkpoint: AccessTraceCheckpoint?) -> [String] {
        var problems: [String] = []
        if row.seq != previous.seq + 1 {
            problems.append("entries \(previous.seq + 1) to \(row.seq - 1) are missing")
        }
        if hash(previous: previous.hash, entry: row.entry) != row.hash {
            problems.append("entry \(row.seq): its hash does not follow from the previous entry and its content (changed, removed or moved)")
        }
        if let checkpoint, checkpoint.hash != row.hash {
            problems.append("entry \(row.seq): the chain differs from what the checkpoint signed")
        }
        guard let json = try? JSONParser.parse(row.entry), let entry = AccessEntry(json: json), json["seq"]?.integer == Int(row.seq) else {
            problems.append("entry \(row.seq): its content is not an access entry of this place")
            return problems
        }
        if entry.time != row.time || entry.actor.name != row.actor || Set(entry.patients) != Set(row.patients) {
            problems.append("entry \(row.seq): its time, actor or patients columns differ from the entry")
        }
        return problems
    }
}

/// The key that signs the trace's checkpoints: an Ed25519 key in a file
/// (its raw 32 bytes in base64), made on first use and readable by its owner only.
public enum AccessTraceKey {
    public struct KeyError: Error, CustomStringConvertible {
        public var description: String
    }

    /// The key in the file, made first when there is none.
    public static func load(path: String) throws -> Curve25519.Signing.PrivateKey {
        if FileManager.default.fileExists(atPath: path) { return try existing(path: path) }
        let key = Curve25519.Signing.PrivateKey()
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        // Written aside, then linked into place: two processes starting at
        // once end with one key, and neither reads a half-written file.
        let aside = path + ".\(UInt64.random(in: 0...UInt64.max))"
        guard
            FileManager.default.createFile(
                atPath: aside, contents: Data((key.rawRepresentation.base64EncodedString() + "\n").utf8), attributes: [.posixPermissions: 0o600])
        else { throw KeyError(description: "the access trace key \(path) cannot be written") }
        defer { unlink(aside) }
        if link(aside, path) != 0 {
            if errno == EEXIST { return try existing(path: path) }
            throw KeyError(description: "the access trace key \(path) cannot be written (errno \(errno))")
        }
        return key
    }

    /// The public key (raw, base64) of the key in the file, which must be there.
    public static func publicKey(path: String) throws -> String {
        try existing(path: path).publicKey.rawRepresentation.base64EncodedString()
    }

    /// The key in the file, which must be there.
    public static func existing(path: String) throws -> Curve25519.Signing.PrivateKey {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw KeyError(description: "the access trace key \(path) cannot be read")
        }
        guard let raw = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)),
            let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw)
        else { throw KeyError(description: "the access trace key \(path) is not an Ed25519 private key in base64") }
        return key
    }
}
