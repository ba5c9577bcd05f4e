import Foundation
import Testing

/// Storage is the only module that speaks SQL (docs/architecture.md §Storage):
/// no other module of Sources imports a database driver, names Storage's
/// SQL types, or holds SQL text. Fails the build's tests when one appears.
@Suite("Storage owns all SQL")
struct SQLBoundaryTests {
    static let sources: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)  // SQLBoundaryTests.swift, StorageTests, Tests
        return parts.joined(separator: "/") + "/Sources"
    }()

    static let drivers = #"^\s*import\s+(GRDB|GRDBSQLite|PostgresNIO|SQLite3)\b"#
    static let types = #"\b(SQLDatabase|SQLStatement|SQLValue|SQLRow|SQLiteDatabase|PostgreSQLDatabase)\b"#
    /// SQL statements, told from AQL (whose FROM names RM classes in capitals).
    static let statements = (
        #"\b(SELECT\b.*\bFROM\s+[a-z_]+\b|INSERT\s+INTO|DELETE\s+FROM|UPDATE\s+[a-z_]+\s+SET|CREATE\s+(UNIQUE\s+|TEMPORARY\s+)?(TABLE|INDEX)|DROP\s+(TABLE|INDEX)|ALTER\s+TABLE|EXPLAIN\s+(QUERY|SELECT|ANALYZE)|PRAGMA\s+[a-z_]+|pg_[a-z_]+\(|JOIN\s+[a-z_]+\s+[a-z]+[0-9]*\s+ON)"#)

    /// What a line holds outside a `//` comment.
    static func code(_ line: Substring) -> Substring {
        guard let comment = line.range(of: "//") else { return line }
        return line[..<comment.lowerBound]
    }

    static func violations(in text: String) -> [String] {
        // Regexes are not Sendable, so not kept in statics: made once per file.
        let patterns = [drivers, types, statements].compactMap { try? Regex($0) }
        var found: [String] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let code = code(line)
            // Fast path: every rule needs one of these words.
            guard ["import", "SQL", "SELECT", "INSERT", "DELETE", "UPDATE", "CREATE", "DROP", "ALTER", "EXPLAIN", "PRAGMA", "pg_", "JOIN", "Database"]
                .contains(where: { code.contains($0) })
            else { continue }
            if patterns.count < 3 || patterns.contains(where: { code.contains($0) }) {
                found.append("line \(number + 1): \(line.trimmingCharacters(in: .whitespaces))")
            }
        }
        return found
    }

    @Test func theRulesTellSQLFromAQL() {
        #expect(Self.violations(in: #"let q = "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c WHERE c/name/value = 'x'""#).isEmpty)
        #expect(Self.violations(in: "// SELECT * FROM versioned_object (a comment)").isEmpty)
        for sql in [
            #"db.query("SELECT COUNT(*) FROM aql_composition")"#, #""INSERT INTO ehr (ehr_id) VALUES (?)""#, #""UPDATE template SET opt = ?""#,
            #""DELETE FROM contribution WHERE x = ?""#, #""CREATE INDEX i ON t (c)""#, "import GRDB", #"let database: any SQLDatabase"#,
            #""JOIN aql_node t3 ON t3.cid = c1.cid""#, #""SELECT pg_advisory_xact_lock(1)""#,
        ] {
            #expect(!Self.violations(in: sql).isEmpty, "\(sql)")
        }
    }

    @Test func noModuleButStorageSpeaksSQL() throws {
        let root = Self.sources
        let files = try FileManager.default.subpathsOfDirectory(atPath: root).filter { $0.hasSuffix(".swift") && !$0.hasPrefix("Storage/") }
        #expect(files.count > 100, "the sources were not found under \(root)")
        var violations: [String] = []
        for file in files.sorted() {
            let text = try String(contentsOfFile: root + "/" + file, encoding: .utf8)
            violations += Self.violations(in: text).map { "Sources/\(file) \($0)" }
        }
        #expect(violations.isEmpty, "SQL outside Storage:\n\(violations.joined(separator: "\n"))")
    }
}
