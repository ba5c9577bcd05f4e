import AQL
import Testing

/// The semantic stage: paths typed against the RM (AQL §3.4, RM 1.1.0).
@Suite("AQL semantic checks")
struct CheckerTests {
    func check(_ text: String) throws -> Checker.CheckedQuery {
        try Checker().check(try Parser.parse(text))
    }

    func problems(_ text: String) throws -> [AQLSemanticError.Problem] {
        let query = try Parser.parse(text)
        do {
            _ = try Checker().check(query)
            return []
        } catch {
            return error.problems
        }
    }

    @Test(arguments: [
        "SELECT e/ehr_id/value, c/context/start_time/value, o/data[at0001]/events[at0006]/data[at0003]/items[at0004]/value/magnitude FROM EHR e CONTAINS COMPOSITION c CONTAINS OBSERVATION o[openEHR-EHR-OBSERVATION.blood_pressure.v2]",
        "SELECT c/uid/value, c/name/value, c/composer/name, c/category/defining_code/code_string FROM COMPOSITION c ORDER BY c/context/start_time/value DESC",
        "SELECT v/commit_audit/time_committed/value, v/data/uid/value FROM EHR e CONTAINS VERSION v[LATEST_VERSION] CONTAINS COMPOSITION c",
        "SELECT COUNT(DISTINCT e/ehr_id/value) FROM EHR e CONTAINS ENTRY x WHERE x/subject/external_ref/id/value = $id AND EXISTS x/protocol",
        "SELECT i/value/lower/magnitude FROM ELEMENT i",
    ])
    func validPathsTypeCheck(text: String) throws {
        let checked = try check(text)
        #expect(!checked.variables.isEmpty)
    }

    @Test(arguments: [
        ("SELECT x/name FROM EHR e", 1, 8, "unknown variable 'x'"),
        ("SELECT e FROM EHR e CONTAINS OBSERVATIONS o", 1, 30, "unknown RM class 'OBSERVATIONS'"),
        ("SELECT o/data/events/data/items/value/magnitudes FROM OBSERVATION o", 1, 8, "'o/data/events/data/items/value/magnitudes' cannot exist: no attribute 'magnitudes'"),
        ("SELECT o FROM OBSERVATION o WHERE o/name/value/length > 3", 1, 35, "'o/name/value' is a primitive value: it has no attribute 'length'"),
        ("SELECT c FROM COMPOSITION c CONTAINS OBSERVATION c", 1, 38, "variable 'c' is declared twice"),
        ("SELECT e FROM EHR e ORDER BY e/ehr_status/time_created", 1, 30, "no attribute 'time_created'"),
    ])
    func impossibleQueriesAreRefusedWithPosition(text: String, line: Int, column: Int, message: String) throws {
        let found = try problems(text)
        #expect(found.contains { $0.position.line == line && $0.position.column == column && $0.message.contains(message) }, "\(found)")
    }
}
