import AQL
import JSONCore
import OpenEHR
import Testing

/// What representative queries compile to, for both dialects (golden SQL),
/// and what the compiler refuses, with where.
@Suite("AQL compiler")
struct CompilerTests {
    static let patient =
        "SELECT e/ehr_id/value, o/data[at0001]/events[at0002]/data[at0003]/items[at0004]/value/magnitude AS systolic FROM EHR e[ehr_id/value=$ehr_id] CONTAINS COMPOSITION c CONTAINS OBSERVATION o[openEHR-EHR-OBSERVATION.sample_blood_pressure.v1] WHERE o/data[at0001]/events[at0002]/data[at0003]/items[at0004]/value/magnitude > 140 ORDER BY c/context/start_time/value DESC LIMIT 10"
    static let population =
        "SELECT COUNT(DISTINCT e/ehr_id/value) FROM EHR e CONTAINS COMPOSITION c WHERE NOT EXISTS c/content[openEHR-EHR-OBSERVATION.sample_blood_pressure.v1] OR c/name/value LIKE 'Enc%'"

    static let versions =
        "SELECT v/uid/value, v/commit_audit/time_committed/value, c FROM EHR e CONTAINS VERSION v[ALL_VERSIONS] CONTAINS COMPOSITION c[openEHR-EHR-COMPOSITION.encounter.v1] WHERE v/commit_audit/time_committed/value > '2026-01-01'"
    static let matches =
        "SELECT e/time_created/value, c/context/setting/defining_code/code_string AS setting FROM EHR e CONTAINS COMPOSITION c CONTAINS CLUSTER cl[openEHR-EHR-CLUSTER.laboratory_test_analyte.v1] WHERE c/context/setting/defining_code/code_string MATCHES TERMINOLOGY('expand', 'openehr', 'group=composition_category') AND cl/items[at0024]/value/value LIKE 'Oxygen*' ORDER BY setting"

    func compile(_ q: String, _ dialect: SQLDialect) throws -> CompiledQuery {
        let checked = try Checker().check(try Parser.parse(q))
        return try Compiler(dialect: dialect, systemID: "test.socle").compile(
            checked, parameters: ["ehr_id": .string("7D44B88C-4199-4BAD-97DC-D78268E01398")], now: ISODateTime("2026-11-29T10:00:00Z")!)
    }

    @Test(arguments: [SQLDialect.sqlite, .postgresql])
    func patientQuery(dialect: SQLDialect) throws {
        let compiled = try compile(Self.patient, dialect)
        let expected = dialect == .sqlite
            ? "SELECT c1.ehr_id, c1.object_id, c1.version_number, t3.num, t3.rm_type, t3.num_value, t3.str_value, t3.code, t3.terminology, t3.units, t3.name FROM aql_composition c1 JOIN aql_node t3 ON t3.archetype_id = 'openEHR-EHR-OBSERVATION.sample_blood_pressure.v1' AND t3.cid = c1.cid AND t3.apath = '/data[at0001]/events[at0002]/data[at0003]/items[at0004]/value' WHERE c1.ehr_id = '7d44b88c-4199-4bad-97dc-d78268e01398' AND t3.num_value > 140 ORDER BY c1.start_time DESC LIMIT 10"
            : "SELECT c1.ehr_id, c1.object_id, c1.version_number, t3.num, t3.rm_type, t3.num_value, t3.str_value, t3.code, t3.terminology, t3.units, t3.name FROM aql_composition c1 JOIN aql_node t3 ON t3.archetype_id = 'openEHR-EHR-OBSERVATION.sample_blood_pressure.v1' AND t3.cid = c1.cid AND t3.apath = '/data[at0001]/events[at0002]/data[at0003]/items[at0004]/value' WHERE c1.ehr_id = '7d44b88c-4199-4bad-97dc-d78268e01398' AND t3.num_value > 140 ORDER BY c1.start_time DESC NULLS LAST LIMIT 10"
        #expect(compiled.sql == expected)
    }

    @Test(arguments: [SQLDialect.sqlite, .postgresql])
    func populationQuery(dialect: SQLDialect) throws {
        let compiled = try compile(Self.population, dialect)
        let expected = dialect == .sqlite
            ? "SELECT COUNT(DISTINCT c1.ehr_id) FROM aql_composition c1 WHERE (NOT (EXISTS (SELECT 1 FROM aql_node t2 WHERE t2.cid = c1.cid AND t2.archetype_id = 'openEHR-EHR-OBSERVATION.sample_blood_pressure.v1' AND t2.apath = '')) OR EXISTS (SELECT 1 FROM aql_node t3 WHERE t3.cid = c1.cid AND t3.apath = '' AND t3.num = 0 AND t3.name GLOB 'Enc*'))"
            : "SELECT COUNT(DISTINCT c1.ehr_id) FROM aql_composition c1 WHERE (NOT (EXISTS (SELECT 1 FROM aql_node t2 WHERE t2.cid = c1.cid AND t2.archetype_id = 'openEHR-EHR-OBSERVATION.sample_blood_pressure.v1' AND t2.apath = '')) OR EXISTS (SELECT 1 FROM aql_node t3 WHERE t3.cid = c1.cid AND t3.apath = '' AND t3.num = 0 AND t3.name LIKE 'Enc%'))"
        #expect(compiled.sql == expected)
    }

    @Test(arguments: [SQLDialect.sqlite, .postgresql])
    func versionsQuery(dialect: SQLDialect) throws {
        let compiled = try compile(Self.versions, dialect)
        let expected = dialect == .sqlite
            ? "SELECT v2.object_id || '::test.socle::' || v2.version_number, v2.time_committed, c1.object_id, v2.version_number, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM aql_composition c1 JOIN object_version v2 ON v2.object_id = c1.object_id WHERE c1.archetype_id = 'openEHR-EHR-COMPOSITION.encounter.v1' AND v2.time_committed > 1767225600000000"
            : "SELECT v2.object_id || '::test.socle::' || v2.version_number, v2.time_committed, c1.object_id, v2.version_number, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM aql_composition c1 JOIN object_version v2 ON v2.object_id = c1.object_id WHERE c1.archetype_id = 'openEHR-EHR-COMPOSITION.encounter.v1' AND v2.time_committed > 1767225600000000"
        #expect(compiled.sql == expected)
    }

    @Test(arguments: [SQLDialect.sqlite, .postgresql])
    func matchesQuery(dialect: SQLDialect) throws {
        let compiled = try compile(Self.matches, dialect)
        let expected = dialect == .sqlite
            ? "SELECT e1.time_created, c2.object_id, c2.version_number, t4.num, t4.rm_type, t4.num_value, t4.str_value, t4.code, t4.terminology, t4.units, t4.name FROM ehr e1 JOIN aql_composition c2 ON c2.ehr_id = e1.ehr_id JOIN aql_node t4 ON t4.archetype_id = c2.archetype_id AND t4.cid = c2.cid AND t4.apath = '/context/setting' AND t4.root_num = 0 JOIN aql_node t5 ON t5.archetype_id = 'openEHR-EHR-CLUSTER.laboratory_test_analyte.v1' AND t5.cid = c2.cid AND t5.apath = '/items[at0024]/value' WHERE t4.code IN ('431', '433', '451', '815') AND t5.str_value GLOB 'Oxygen*' ORDER BY t4.code ASC"
            : "SELECT e1.time_created, c2.object_id, c2.version_number, t4.num, t4.rm_type, t4.num_value, t4.str_value, t4.code, t4.terminology, t4.units, t4.name FROM ehr e1 JOIN aql_composition c2 ON c2.ehr_id = e1.ehr_id JOIN aql_node t4 ON t4.archetype_id = c2.archetype_id AND t4.cid = c2.cid AND t4.apath = '/context/setting' AND t4.root_num = 0 JOIN aql_node t5 ON t5.archetype_id = 'openEHR-EHR-CLUSTER.laboratory_test_analyte.v1' AND t5.cid = c2.cid AND t5.apath = '/items[at0024]/value' WHERE t4.code IN ('431', '433', '451', '815') AND t5.str_value LIKE 'Oxygen%' ORDER BY t4.code ASC NULLS FIRST"
        #expect(compiled.sql == expected)
    }

    /// What the compiler refuses, with the position of what it refuses.
    @Test func refusals() throws {
        func problems(_ q: String) -> [AQLSemanticError.Problem] {
            do {
                _ = try compile(q, .sqlite)
                return []
            } catch let error as AQLSemanticError {
                return error.problems
            } catch {
                Issue.record("\(error)")
                return []
            }
        }
        let missing = problems("SELECT c FROM EHR e[ehr_id/value=$other] CONTAINS COMPOSITION c")
        #expect(missing.map(\.message) == ["parameter $other is used but not given (query_parameters)"])
        let mismatch = problems("SELECT c FROM EHR e CONTAINS COMPOSITION c WHERE c/name/value > 3")
        #expect(mismatch.first?.message == "type mismatch: 'c/name/value' is a string, it cannot be compared with 3")
        #expect(mismatch.first?.position == SourcePosition(line: 1, column: 50))
        let function = problems("SELECT c FROM EHR e CONTAINS COMPOSITION c WHERE\n  LOWER(c/name/value) = 'x'")
        #expect(function.first?.message == "unknown function LOWER" && function.first?.position == SourcePosition(line: 2, column: 3))
        let twoPaths = problems("SELECT c FROM EHR e CONTAINS COMPOSITION c WHERE c/name/value = c/context/start_time/value")
        #expect(twoPaths.first?.message == "type mismatch: 'c/name/value' and 'c/context/start_time/value' cannot be compared (a string and a number or date-time)")
        let stringFunction = problems("SELECT LENGTH(c/context/start_time/value) FROM EHR e CONTAINS COMPOSITION c")
        #expect(stringFunction.first?.message == "type mismatch: LENGTH needs a string as argument 1, not c/context/start_time/value")
        let numberFunction = problems("SELECT ABS(c/name/value) FROM EHR e CONTAINS COMPOSITION c")
        #expect(numberFunction.first?.message == "type mismatch: ABS needs a number as argument 1, not c/name/value")
        let outerOr = problems("SELECT c FROM COMPOSITION c OR COMPOSITION d")
        #expect(outerOr.first?.message.hasPrefix("OR between the outermost FROM classes is not supported") == true)
        #expect(outerOr.first?.position == SourcePosition(line: 1, column: 15))
        let older = problems("SELECT c FROM EHR e CONTAINS VERSION v[ALL_VERSIONS] CONTAINS COMPOSITION c NOT CONTAINS OBSERVATION o")
        #expect(older.first?.message.contains("older versions are not in the node index") == true)
        let negated = problems("SELECT o/name/value FROM EHR e CONTAINS COMPOSITION c NOT CONTAINS OBSERVATION o")
        #expect(negated.first?.message.contains("declared under NOT CONTAINS") == true)
    }

    /// SQLite: a wide time window on the composition filters, the value index drives;
    /// a window of a week or less drives; PostgreSQL's planner chooses by itself.
    @Test func timeWindowsAndTheValueIndex() throws {
        let value = "o/data[at0001]/events[at0002]/data[at0003]/items[at0004]/value/magnitude > 140"
        func sql(_ window: String, _ dialect: SQLDialect = .sqlite) throws -> String {
            try compile(
                "SELECT COUNT(*) FROM EHR e CONTAINS COMPOSITION c CONTAINS OBSERVATION o[openEHR-EHR-OBSERVATION.sample_blood_pressure.v1] WHERE \(window)", dialect
            ).sql
        }
        let wide = try sql("\(value) AND c/context/start_time/value >= '2025-01-01' AND c/context/start_time/value < '2025-07-01'")
        #expect(wide.contains("+c1.start_time >= 1735689600000000 AND +c1.start_time < 1751328000000000"))
        let narrow = try sql("\(value) AND c/context/start_time/value >= '2025-01-01' AND c/context/start_time/value < '2025-01-03'")
        #expect(narrow.contains(" c1.start_time >= 1735689600000000") && !narrow.contains("+c1"))
        let timeOnly = try sql("c/context/start_time/value >= '2025-01-01'")
        #expect(!timeOnly.contains("+c1"))
        let openEnded = try sql("\(value) AND '2025-01-01' <= c/context/start_time/value")
        #expect(openEnded.contains("1735689600000000 <= +c1.start_time"))
        #expect(!(try sql("\(value) AND c/context/start_time/value >= '2025-01-01'", .postgresql)).contains("+c1"))
    }
}
