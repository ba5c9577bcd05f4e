import AQL
import JSONCore
import OpenEHR
import Testing

/// The plan stage (parse → check → plan → render): what representative
/// queries plan to (golden plans; the SQL they render to is in
/// StorageTests' PlanRendererTests), and what the planner refuses, with where.
@Suite("AQL planner")
struct PlannerTests {
    static let patient =
        "SELECT e/ehr_id/value, o/data[at0001]/events[at0002]/data[at0003]/items[at0004]/value/magnitude AS systolic FROM EHR e[ehr_id/value=$ehr_id] CONTAINS COMPOSITION c CONTAINS OBSERVATION o[openEHR-EHR-OBSERVATION.sample_blood_pressure.v1] WHERE o/data[at0001]/events[at0002]/data[at0003]/items[at0004]/value/magnitude > 140 ORDER BY c/context/start_time/value DESC LIMIT 10"
    static let population =
        "SELECT COUNT(DISTINCT e/ehr_id/value) FROM EHR e CONTAINS COMPOSITION c WHERE NOT EXISTS c/content[openEHR-EHR-OBSERVATION.sample_blood_pressure.v1] OR c/name/value LIKE 'Enc*'"
    static let versions =
        "SELECT v/uid/value, v/commit_audit/time_committed/value, c FROM EHR e CONTAINS VERSION v[ALL_VERSIONS] CONTAINS COMPOSITION c[openEHR-EHR-COMPOSITION.encounter.v1] WHERE v/commit_audit/time_committed/value > '2026-01-01'"
    static let matches =
        "SELECT e/time_created/value, c/context/setting/defining_code/code_string AS setting FROM EHR e CONTAINS COMPOSITION c CONTAINS CLUSTER cl[openEHR-EHR-CLUSTER.laboratory_test_analyte.v1] WHERE c/context/setting/defining_code/code_string MATCHES TERMINOLOGY('expand', 'openehr', 'group=composition_category') AND cl/items[at0024]/value/value LIKE 'Oxygen*' ORDER BY setting"

    static func plan(_ q: String, orderedValuesOnly: Bool = false) throws -> QueryPlan {
        let checked = try Checker().check(try Parser.parse(q))
        return try Planner(systemID: "test.socle").plan(
            checked, parameters: ["ehr_id": .string("7D44B88C-4199-4BAD-97DC-D78268E01398")], now: ISODateTime("2026-11-29T10:00:00Z")!,
            orderedValuesOnly: orderedValuesOnly)
    }

    /// One patient's query: their compositions drive (the join order is
    /// kept, the ordering key is sorted rather than read from an index).
    @Test func patientQuery() throws {
        #expect(
            try Self.plan(Self.patient).description == """
                FROM composition c1 (joined in this order)
                JOIN node t3 ON t3.archetypeID = 'openEHR-EHR-OBSERVATION.sample_blood_pressure.v1' AND t3.cid = c1.cid AND t3.apath = '/data[at0001]/events[at0002]/data[at0003]/items[at0004]/value'
                WHERE c1.ehrID = '7d44b88c-4199-4bad-97dc-d78268e01398' AND t3.numValue > 140
                SELECT c1.ehrID; node(c1, version c1.versionNumber, number t3.num, t3)
                ORDER BY c1.startTime (not driving) DESC
                LIMIT 10
                """)
    }

    /// A path under OR and NOT is a sub-query; NOT EXISTS of a path too.
    @Test func populationQuery() throws {
        #expect(
            try Self.plan(Self.population).description == """
                FROM composition c1
                WHERE (NOT EXISTS (FROM node t2 WHERE t2.cid = c1.cid AND t2.archetypeID = 'openEHR-EHR-OBSERVATION.sample_blood_pressure.v1' AND t2.apath = '') OR EXISTS (FROM node t3 WHERE t3.cid = c1.cid AND t3.archetypeID = c1.archetypeID AND t3.apath = '' AND t3.num = 0 AND t3.name LIKE 'Enc*')) AND queryable EHR (c1.ehrID)
                SELECT COUNT(DISTINCT c1.ehrID)
                """)
    }

    @Test func versionsQuery() throws {
        #expect(
            try Self.plan(Self.versions).description == """
                FROM composition c1
                JOIN version v2 ON v2.objectID = c1.objectID
                WHERE c1.archetypeID = 'openEHR-EHR-COMPOSITION.encounter.v1' AND v2.timeCommitted > 1767225600000000 AND queryable EHR (c1.ehrID)
                SELECT v2.objectID || '::test.socle::' || v2.versionNumber; v2.timeCommitted; node(c1, version v2.versionNumber, number 0)
                """)
    }

    @Test func matchesQuery() throws {
        #expect(
            try Self.plan(Self.matches).description == """
                FROM ehr e1
                JOIN composition c2 ON c2.ehrID = e1.ehrID
                JOIN node t4 ON t4.archetypeID = c2.archetypeID AND t4.cid = c2.cid AND t4.apath = '/context/setting' AND t4.rootNum = 0
                JOIN node t5 ON t5.archetypeID = 'openEHR-EHR-CLUSTER.laboratory_test_analyte.v1' AND t5.cid = c2.cid AND t5.apath = '/items[at0024]/value'
                WHERE t4.code IN ('431', '433', '451', '815') AND t5.strValue LIKE 'Oxygen*' AND queryable EHR (e1.ehrID)
                SELECT e1.timeCreated; node(c2, version c2.versionNumber, number t4.num, t4)
                ORDER BY t4.code ASC
                """)
    }

    /// A function and an aggregate: grouped by the function's selection,
    /// ordered by an alias through its selection; the constant of the
    /// function is a value (bound), the separator of a node key a constant.
    @Test func groupedQuery() throws {
        let plan = try Self.plan(
            "SELECT CONCAT(c/name/value, '!') AS label, COUNT(*) AS n FROM EHR e CONTAINS COMPOSITION c GROUP BY label ORDER BY n DESC"
                .replacingOccurrences(of: " GROUP BY label", with: ""))
        #expect(plan.groupingSelections == [0])
        #expect(plan.orderBy == [PlanOrder(key: .selection(1), descending: true)])
        #expect(
            plan.description == """
                FROM composition c1
                LEFT JOIN node t2 ON t2.cid = c1.cid AND t2.archetypeID = c1.archetypeID AND t2.apath = '' AND t2.num = 0
                WHERE queryable EHR (c1.ehrID)
                SELECT orEmpty(t2.name) || orEmpty('!'); COUNT(*)
                GROUP BY selection 1
                ORDER BY selection 2 DESC
                """)
    }

    /// Every value of the query is a bound value, never a constant of the statement.
    @Test func queryValuesAreValues() throws {
        let plan = try Self.plan(
            "SELECT c FROM EHR e[ehr_id/value=$ehr_id] CONTAINS COMPOSITION c WHERE c/name/value = 'x'' OR 1=1 --' AND c/context/start_time/value > '2025-01-01'")
        var constants: [AQLValue] = []
        func collect(_ expression: PlanExpression) {
            switch expression {
            case .constant(let value): constants.append(value)
            case .concat(let parts), .function(_, let parts): parts.forEach(collect)
            case .aggregate(_, _, let argument): argument.map(collect)
            case .inOneUnit(let units, let inner): collect(units); collect(inner)
            case .notDriving(let inner): collect(inner)
            case .tag(let tag): [tag.objectID, tag.versionNumber, tag.key, tag.targetPath].forEach(collect)
            case .stored(let stored): collect(stored.jsonPath)
            case .column, .value: break
            }
        }
        func collect(_ condition: PlanCondition) {
            switch condition {
            case .compare(let a, _, let b): collect(a); collect(b)
            case .and(let items), .or(let items): items.forEach(collect)
            case .not(let inner): collect(inner)
            case .exists(let sub), .notExists(let sub): sub.conditions.forEach(collect); sub.sources.flatMap(\.on).forEach(collect)
            default: break
            }
        }
        plan.conditions.forEach(collect)
        plan.sources.flatMap(\.on).forEach(collect)
        // Only the index layout's own constants: the root's empty path and number.
        #expect(Set(constants) == [.text(""), .integer(0)])
        #expect(plan.description.contains("t2.name = 'x'' OR 1=1 --'"))
    }

    /// What the planner refuses, with the position of what it refuses.
    @Test func refusals() throws {
        func problems(_ q: String) -> [AQLSemanticError.Problem] {
            do {
                _ = try Self.plan(q)
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

    /// A wide time window on the composition must not drive the join order
    /// (a value condition on an archetyped path should); a window of a week
    /// or less may.
    @Test func timeWindowsAndTheValueIndex() throws {
        let value = "o/data[at0001]/events[at0002]/data[at0003]/items[at0004]/value/magnitude > 140"
        func plan(_ window: String) throws -> String {
            try Self.plan(
                "SELECT COUNT(*) FROM EHR e CONTAINS COMPOSITION c CONTAINS OBSERVATION o[openEHR-EHR-OBSERVATION.sample_blood_pressure.v1] WHERE \(window)"
            ).description
        }
        let wide = try plan("\(value) AND c/context/start_time/value >= '2025-01-01' AND c/context/start_time/value < '2025-07-01'")
        #expect(wide.contains("c1.startTime (not driving) >= 1735689600000000 AND c1.startTime (not driving) < 1751328000000000"))
        let narrow = try plan("\(value) AND c/context/start_time/value >= '2025-01-01' AND c/context/start_time/value < '2025-01-03'")
        #expect(narrow.contains("c1.startTime >= 1735689600000000") && !narrow.contains("not driving"))
        #expect(!(try plan("c/context/start_time/value >= '2025-01-01'")).contains("not driving"))
        #expect(try plan("\(value) AND '2025-01-01' <= c/context/start_time/value").contains("1735689600000000 <= c1.startTime (not driving)"))
    }

    /// A page of the highest values: the ordered path inner-joined and required.
    @Test func orderedValuesOnly() throws {
        let q = "SELECT o/data[at0001]/events[at0002]/data[at0003]/items[at0004]/value/magnitude AS systolic FROM EHR e CONTAINS COMPOSITION c CONTAINS OBSERVATION o[openEHR-EHR-OBSERVATION.sample_blood_pressure.v1] ORDER BY systolic DESC LIMIT 20"
        let full = try Self.plan(q)
        let valuesOnly = try Self.plan(q, orderedValuesOnly: true)
        #expect(full.sources.map(\.join) == [.inner, .inner, .left], "\(full)")
        #expect(valuesOnly.sources.map(\.join) == [.inner, .inner], "\(valuesOnly)")
        #expect(valuesOnly.conditions.contains(.isNotNull(.column(PlanAlias(prefix: "t", number: 3), .numValue))))
    }
}
