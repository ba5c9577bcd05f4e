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

    func compile(_ q: String, _ dialect: SQLDialect) throws -> CompiledQuery {
        let checked = try Checker().check(try Parser.parse(q))
        return try Compiler(dialect: dialect, systemID: "test.socle").compile(
            checked, parameters: ["ehr_id": .string("7D44B88C-4199-4BAD-97DC-D78268E01398")], now: ISODateTime("2026-11-29T10:00:00Z")!)
    }

    @Test(arguments: [SQLDialect.sqlite, .postgresql])
    func patientQuery(dialect: SQLDialect) throws {
        let compiled = try compile(Self.patient, dialect)
        let expected = dialect == .sqlite
            ? "SELECT c1.ehr_id, c1.object_id, c1.version_number, t3.num, t3.rm_type, t3.num_value, t3.str_value, t3.code, t3.terminology, t3.units, t3.name FROM aql_composition c1 JOIN aql_node n2 ON n2.cid = c1.cid AND n2.archetype_id = 'openEHR-EHR-OBSERVATION.sample_blood_pressure.v1' AND n2.apath = '' AND n2.rm_type = 'OBSERVATION' JOIN aql_node t3 ON t3.archetype_id = 'openEHR-EHR-OBSERVATION.sample_blood_pressure.v1' AND t3.cid = n2.cid AND t3.apath = '/data[at0001]/events[at0002]/data[at0003]/items[at0004]/value' AND t3.root_num = n2.num LEFT JOIN aql_node t4 ON t4.archetype_id = c1.archetype_id AND t4.cid = c1.cid AND t4.apath = '/context/start_time' AND t4.root_num = 0 WHERE c1.ehr_id = '7d44b88c-4199-4bad-97dc-d78268e01398' AND t3.num_value > 140 ORDER BY t4.num_value DESC LIMIT 10"
            : "SELECT c1.ehr_id, c1.object_id, c1.version_number, t3.num, t3.rm_type, t3.num_value, t3.str_value, t3.code, t3.terminology, t3.units, t3.name FROM aql_composition c1 JOIN aql_node n2 ON n2.cid = c1.cid AND n2.archetype_id = 'openEHR-EHR-OBSERVATION.sample_blood_pressure.v1' AND n2.apath = '' AND n2.rm_type = 'OBSERVATION' JOIN aql_node t3 ON t3.archetype_id = 'openEHR-EHR-OBSERVATION.sample_blood_pressure.v1' AND t3.cid = n2.cid AND t3.apath = '/data[at0001]/events[at0002]/data[at0003]/items[at0004]/value' AND t3.root_num = n2.num LEFT JOIN aql_node t4 ON t4.archetype_id = c1.archetype_id AND t4.cid = c1.cid AND t4.apath = '/context/start_time' AND t4.root_num = 0 WHERE c1.ehr_id = '7d44b88c-4199-4bad-97dc-d78268e01398' AND t3.num_value > 140 ORDER BY t4.num_value DESC NULLS LAST LIMIT 10"
        #expect(compiled.sql == expected)
    }

    @Test(arguments: [SQLDialect.sqlite, .postgresql])
    func populationQuery(dialect: SQLDialect) throws {
        let compiled = try compile(Self.population, dialect)
        let expected = dialect == .sqlite
            ? "SELECT COUNT(DISTINCT c1.ehr_id) FROM aql_composition c1 WHERE (NOT (EXISTS (SELECT 1 FROM aql_node t2 WHERE t2.cid = c1.cid AND t2.archetype_id = 'openEHR-EHR-OBSERVATION.sample_blood_pressure.v1' AND t2.apath = '')) OR EXISTS (SELECT 1 FROM aql_node t3 WHERE t3.cid = c1.cid AND t3.num = 0 AND t3.name GLOB 'Enc*'))"
            : "SELECT COUNT(DISTINCT c1.ehr_id) FROM aql_composition c1 WHERE (NOT (EXISTS (SELECT 1 FROM aql_node t2 WHERE t2.cid = c1.cid AND t2.archetype_id = 'openEHR-EHR-OBSERVATION.sample_blood_pressure.v1' AND t2.apath = '')) OR EXISTS (SELECT 1 FROM aql_node t3 WHERE t3.cid = c1.cid AND t3.num = 0 AND t3.name LIKE 'Enc%'))"
        #expect(compiled.sql == expected)
    }
}
