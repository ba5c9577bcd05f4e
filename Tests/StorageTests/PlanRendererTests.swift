import AQL
import JSONCore
import OpenEHR
@testable import Storage
import Testing

/// The render stage: what representative plans (PlannerTests' queries)
/// become in each dialect (golden SQL), with every value of the query bound
/// and only the index layout's constants in the text.
@Suite("AQL plans rendered as SQL")
struct PlanRendererTests {
    static let ehrID = "7D44B88C-4199-4BAD-97DC-D78268E01398"

    static func render(_ q: String, _ kind: DatabaseKind, orderedValuesOnly: Bool = false) throws -> RenderedQuery {
        let checked = try Checker().check(try Parser.parse(q))
        let plan = try Planner(systemID: "test.socle").plan(
            checked, parameters: ["ehr_id": .string(ehrID)], now: ISODateTime("2026-11-29T10:00:00Z")!, orderedValuesOnly: orderedValuesOnly)
        return try RenderedQuery(rendering: plan, for: kind)
    }

    /// A page of the highest values. PostgreSQL's B-tree read backwards
    /// gives DESC NULLS FIRST, so an ORDER BY … DESC NULLS LAST is sorted
    /// after reading every match; where the plan requires the key present
    /// (the rows that have the values, `orderedValuesOnly`), the NULLS
    /// clause is left out and the value index is read backwards. Without
    /// that requirement absent values still sort last, as on SQLite.
    @Test func orderedValuesReadBackwards() throws {
        let systolic = "o/data[at0001]/events[at0002]/data[at0003]/items[at0004]/value/magnitude"
        for order in [systolic, "systolic"] {
            let q = "SELECT \(systolic) AS systolic FROM EHR e CONTAINS COMPOSITION c CONTAINS OBSERVATION o[openEHR-EHR-OBSERVATION.sample_blood_pressure.v1] ORDER BY \(order) DESC LIMIT 20"
            let valuesOnly = try Self.render(q, .postgresql, orderedValuesOnly: true).sql
            #expect(valuesOnly.contains("t3.num_value IS NOT NULL"), "\(valuesOnly)")
            #expect(valuesOnly.hasSuffix("ORDER BY t3.num_value DESC LIMIT ?"), "\(valuesOnly)")
            let full = try Self.render(q, .postgresql).sql
            #expect(full.hasSuffix("ORDER BY t3.num_value DESC NULLS LAST LIMIT ?"), "\(full)")
            #expect(try Self.render(q, .sqlite, orderedValuesOnly: true).sql.hasSuffix("ORDER BY t3.num_value DESC LIMIT ?"))
        }
    }

    static let patient =
        "SELECT e/ehr_id/value, o/data[at0001]/events[at0002]/data[at0003]/items[at0004]/value/magnitude AS systolic FROM EHR e[ehr_id/value=$ehr_id] CONTAINS COMPOSITION c CONTAINS OBSERVATION o[openEHR-EHR-OBSERVATION.sample_blood_pressure.v1] WHERE o/data[at0001]/events[at0002]/data[at0003]/items[at0004]/value/magnitude > 140 ORDER BY c/context/start_time/value DESC LIMIT 10"

    /// One patient's query: on SQLite the join order is kept (CROSS JOIN) and the
    /// sort key is not read from an index (`+`), whatever the statistics say.
    /// LIKE's pattern in each engine's words: AQL's `*` and `?` become the
    /// engine's wildcards, and everything else, `%`, `_`, brackets and an
    /// escaped star among them, matches itself.
    @Test func likePatterns() throws {
        let q = #"SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c WHERE c/name/value LIKE 'a*b?c%d_e\\*f[g\\\\h\\'"#
        let sqlite = try Self.render(q, .sqlite)
        let postgresql = try Self.render(q, .postgresql)
        #expect(sqlite.binds.contains(.text(#"a*b?c%d_e[*]f[[]g\h\"#)), "\(sqlite.binds)")
        #expect(postgresql.binds.contains(.text(#"a%b_c\%d\_e*f[g\\h\\"#)), "\(postgresql.binds)")
    }

    @Test func patientQuery() throws {
        let sqlite = try Self.render(Self.patient, .sqlite)
        #expect(
            sqlite.sql
                == "SELECT c1.ehr_id, c1.object_id, c1.version_number, t3.num, (SELECT t3q.rm_type FROM aql_place t3q WHERE t3q.id = t3.place), t3.num_value, t3.str_value, t3.code, t3.terminology, t3.units, t3.name FROM aql_composition c1 CROSS JOIN aql_node t3 ON t3.shape = ? AND t3.cid = c1.cid WHERE c1.ehr_id = ? AND t3.num_value > ? ORDER BY +c1.start_time DESC LIMIT ?")
        // The archetype and path name one shape, bound by its id (`IndexSchema.Shape.id`).
        let systolic = IndexSchema.Shape.id(archetypeID: "openEHR-EHR-OBSERVATION.sample_blood_pressure.v1", apath: "/data[at0001]/events[at0002]/data[at0003]/items[at0004]/value")
        #expect(sqlite.binds == [.integer(systolic), .text("7d44b88c-4199-4bad-97dc-d78268e01398"), .integer(140), .integer(10)])
        let postgresql = try Self.render(Self.patient, .postgresql)
        #expect(
            postgresql.sql
                == sqlite.sql.replacingOccurrences(of: "CROSS JOIN", with: "JOIN").replacingOccurrences(of: "+c1.start_time DESC LIMIT", with: "c1.start_time DESC NULLS LAST LIMIT"))
        #expect(postgresql.binds == sqlite.binds)
    }

    @Test func populationQuery() throws {
        let q = "SELECT COUNT(DISTINCT e/ehr_id/value) FROM EHR e CONTAINS COMPOSITION c WHERE NOT EXISTS c/content[openEHR-EHR-OBSERVATION.sample_blood_pressure.v1] OR c/name/value LIKE 'Enc*'"
        let sqlite = try Self.render(q, .sqlite)
        #expect(
            sqlite.sql
                == "SELECT COUNT(DISTINCT c1.ehr_id) FROM aql_composition c1 WHERE (NOT (EXISTS (SELECT 1 FROM aql_node t2 WHERE t2.cid = c1.cid AND t2.shape = ? AND t2.num = t2.root_num)) OR EXISTS (SELECT 1 FROM aql_node t3 WHERE t3.cid = c1.cid AND t3.shape = (SELECT t3s.id FROM aql_shape t3s WHERE t3s.archetype_id = c1.archetype_id AND t3s.apath = '') AND t3.num = t3.root_num AND t3.num = 0 AND t3.name GLOB ?)) AND c1.ehr_id NOT IN (SELECT u.ehr_id FROM ehr u WHERE u.is_queryable = 0)")
        // A shape named by a bound archetype is bound by id; one named by the composition's own archetype (a column) is looked up.
        let root = IndexSchema.Shape.id(archetypeID: "openEHR-EHR-OBSERVATION.sample_blood_pressure.v1", apath: "")
        #expect(sqlite.binds == [.integer(root), .text("Enc*")])
        let postgresql = try Self.render(q, .postgresql)
        #expect(postgresql.sql == sqlite.sql.replacingOccurrences(of: "GLOB", with: "LIKE"))
        #expect(postgresql.binds == [.integer(root), .text("Enc%")])
    }

    @Test func versionsQuery() throws {
        let q = "SELECT v/uid/value, v/commit_audit/time_committed/value, c FROM EHR e CONTAINS VERSION v[ALL_VERSIONS] CONTAINS COMPOSITION c[openEHR-EHR-COMPOSITION.encounter.v1] WHERE v/commit_audit/time_committed/value > '2026-01-01'"
        for kind in [DatabaseKind.sqlite, .postgresql] {
            let rendered = try Self.render(q, kind)
            #expect(
                rendered.sql
                    == "SELECT (v2.object_id || ? || v2.version_number), v2.time_committed, c1.object_id, v2.version_number, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM aql_composition c1 JOIN object_version v2 ON v2.object_id = c1.object_id WHERE c1.archetype_id = ? AND v2.time_committed > ? AND c1.ehr_id NOT IN (SELECT u.ehr_id FROM ehr u WHERE u.is_queryable = 0)")
            #expect(rendered.binds == [.text("::test.socle::"), .text("openEHR-EHR-COMPOSITION.encounter.v1"), .integer(1_767_225_600_000_000)])
        }
    }

    /// Functions in each engine's words; a grouped plan groups and orders by selection.
    @Test func functionsAndGrouping() throws {
        let q = "SELECT ROUND(o/data[at0001]/events[at0002]/data[at0003]/items[at0004]/value/magnitude, 1) AS r, COUNT(*) AS n FROM EHR e CONTAINS COMPOSITION c CONTAINS OBSERVATION o[openEHR-EHR-OBSERVATION.sample_blood_pressure.v1] ORDER BY n DESC"
        let sqlite = try Self.render(q, .sqlite)
        #expect(sqlite.sql.hasPrefix("SELECT round(t3.num_value, ?), COUNT(*) FROM aql_composition c1"), "\(sqlite.sql)")
        #expect(sqlite.sql.hasSuffix("GROUP BY 1 ORDER BY 2 DESC"), "\(sqlite.sql)")
        let postgresql = try Self.render(q, .postgresql)
        #expect(postgresql.sql.hasPrefix("SELECT CAST(round(CAST(t3.num_value AS NUMERIC), CAST(? AS INTEGER)) AS DOUBLE PRECISION), COUNT(*)"), "\(postgresql.sql)")
        #expect(postgresql.sql.hasSuffix("GROUP BY 1 ORDER BY 2 DESC NULLS LAST"), "\(postgresql.sql)")
    }

    /// A value that would end a string literal or a statement is only ever bound.
    @Test func valuesNeverReachTheText() throws {
        let hostile = "x' OR '1'='1'; DROP TABLE ehr; --"
        let q = "SELECT c FROM EHR e CONTAINS COMPOSITION c WHERE c/name/value = $name AND c/archetype_details/template_id/value = 'a''b?'"
        let checked = try Checker().check(try Parser.parse(q))
        let plan = try Planner(systemID: "s").plan(checked, parameters: ["name": .string(hostile + "\u{0}")])
        for kind in [DatabaseKind.sqlite, .postgresql] {
            let rendered = try RenderedQuery(rendering: plan, for: kind)
            #expect(!rendered.sql.contains("DROP") && !rendered.sql.contains("a'b") && !rendered.sql.contains("'x'"), "\(rendered.sql)")
            #expect(rendered.binds.contains(.text(hostile + "\u{0}")) && rendered.binds.contains(.text("a'b?")))
            #expect(rendered.sql.filter { $0 == "?" }.count == rendered.binds.count)
        }
    }

    /// Values outside the index (issue 19 §1): SQLite reads each with
    /// `json_extract` (it keeps the documents it parsed within a statement);
    /// PostgreSQL parses the document once per row, in a LATERAL join that
    /// every value then reads from.
    @Test func storedValues() throws {
        let q = "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c WHERE c/language/code_string = 'de' AND c/territory/code_string = 'DE'"
        // One join of the composition's root row and one of its stored version, for both values;
        // the root's place in the document is read from its place entry.
        let jpath = "(SELECT t2q.jpath FROM aql_place t2q WHERE t2q.id = t2.place)"
        let from = "FROM aql_composition c1 JOIN aql_node t2 ON t2.cid = c1.cid AND t2.shape = (SELECT t2s.id FROM aql_shape t2s WHERE t2s.archetype_id = c1.archetype_id AND t2s.apath = '') AND t2.num = t2.root_num AND t2.num = 0 LEFT JOIN object_version d3 ON d3.object_id = c1.object_id AND d3.version_number = c1.version_number"
        let sqlite = try Self.render(q, .sqlite)
        #expect(
            sqlite.sql
                == "SELECT (c1.object_id || ? || c1.version_number) \(from) WHERE json_extract(socle_document(d3.data), (\(jpath) || ?)) = ? AND json_extract(socle_document(d3.data), (\(jpath) || ?)) = ? AND c1.ehr_id NOT IN (SELECT u.ehr_id FROM ehr u WHERE u.is_queryable = 0)",
            "\(sqlite.sql)")
        #expect(sqlite.binds == [.text("::test.socle::"), .text(".language.code_string"), .text("de"), .text(".territory.code_string"), .text("DE")])
        let postgresql = try Self.render(q, .postgresql)
        let value = "(jsonb_path_query_first(d3j.json, CAST((\(jpath) || ?) AS jsonpath)) #>> '{}')"
        #expect(
            postgresql.sql
                == "SELECT (c1.object_id || ? || c1.version_number) \(from) LEFT JOIN LATERAL (SELECT convert_from(d3.data, 'UTF8')::jsonb AS json OFFSET 0) d3j ON TRUE WHERE \(value) = ? AND \(value) = ? AND c1.ehr_id NOT IN (SELECT u.ehr_id FROM ehr u WHERE u.is_queryable = 0)",
            "\(postgresql.sql)")
    }
}
