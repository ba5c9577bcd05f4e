import AQL
import Testing

/// AQL 1.1 syntax (specifications-QUERY AQL §3 and grammar AqlParser.g4):
/// supported and rejected queries side by side, by section.
@Suite("AQL parser")
struct ParserTests {
    func parse(_ text: String) throws(AQLSyntaxError) -> Query { try Parser.parse(text) }

    /// §3.6 FROM: class expressions and CONTAINS.
    @Test func fromWithContainsAndPredicates() throws {
        let query = try parse(
            "SELECT c FROM EHR e[ehr_id/value=$ehrId] CONTAINS COMPOSITION c[openEHR-EHR-COMPOSITION.encounter.v1] CONTAINS (OBSERVATION o[openEHR-EHR-OBSERVATION.blood_pressure.v2] AND OBSERVATION p[openEHR-EHR-OBSERVATION.pulse.v2])")
        guard case .class(let ehr, let contains?, false) = query.from else { Issue.record("\(query.from)"); return }
        #expect(ehr.rmType == "EHR" && ehr.variable == "e")
        #expect(ehr.predicate == .comparison(ObjectPath(parts: [PathPart(attribute: "ehr_id"), PathPart(attribute: "value")]), .equal, .parameter("ehrId")))
        guard case .class(let composition, .and(let left, let right)?, false) = contains else { Issue.record("\(contains)"); return }
        #expect(composition.predicate == .archetype("openEHR-EHR-COMPOSITION.encounter.v1"))
        #expect(left == .class(ClassExpression(rmType: "OBSERVATION", variable: "o", predicate: .archetype("openEHR-EHR-OBSERVATION.blood_pressure.v2")), contains: nil, negated: false))
        guard case .class(let pulse, nil, false) = right else { Issue.record("\(right)"); return }
        #expect(pulse.variable == "p")
    }

    @Test func notContainsAndContainsPrecedence() throws {
        let query = try parse("SELECT e/ehr_id/value FROM EHR e NOT CONTAINS COMPOSITION c AND EHR f")
        guard case .and(.class(_, let inner?, true), .class(let f, nil, false)) = query.from else { Issue.record("\(query.from)"); return }
        #expect(f.variable == "f")
        guard case .class(let c, nil, false) = inner else { Issue.record("\(inner)"); return }
        #expect(c.rmType == "COMPOSITION")
    }

    @Test func versionClassExpressions() throws {
        let latest = try parse("SELECT v/commit_audit/time_committed FROM EHR e CONTAINS VERSION v[LATEST_VERSION] CONTAINS COMPOSITION c")
        guard case .class(_, .class(let version, _, _)?, _) = latest.from else { Issue.record("\(latest.from)"); return }
        #expect(version.versionPredicate == .latest)
        let all = try parse("SELECT v FROM VERSION v[ALL_VERSIONS]")
        guard case .class(let every, _, _) = all.from else { return }
        #expect(every.versionPredicate == .all)
    }

    /// §3.5 predicates: node predicates with names, and standard predicates in paths.
    @Test func pathsWithNodeAndNamePredicates() throws {
        let query = try parse(
            "SELECT o/data[at0001]/events[at0006, 'any event']/data[at0003]/items[at0004]/value/magnitude AS systolic, o/data[at0001]/events[at0006]/time/value FROM OBSERVATION o[openEHR-EHR-OBSERVATION.blood_pressure.v2]")
        #expect(query.select.columns.count == 2)
        #expect(query.select.columns[0].alias == "systolic")
        guard case .path(let path) = query.select.columns[0].expression, let parts = path.path?.parts else { Issue.record("no path"); return }
        #expect(parts.map(\.attribute) == ["data", "events", "data", "items", "value", "magnitude"])
        #expect(parts[1].predicate == .node("at0006", name: .literal(.string("any event"))))
        #expect(parts[3].predicate == .node("at0004", name: nil))
        // `time` is a keyword-like attribute name and still a path part.
        guard case .path(let second) = query.select.columns[1].expression else { return }
        #expect(second.path?.parts.map(\.attribute) == ["data", "events", "time", "value"])
    }

    @Test func namePredicateByValueAndByCode() throws {
        let query = try parse("SELECT c/content[openEHR-EHR-SECTION.adhoc.v1, 'Vital signs']/items[at0001.1 and name/value='x'] FROM COMPOSITION c")
        guard case .path(let path) = query.select.columns[0].expression, let parts = path.path?.parts else { return }
        #expect(parts[0].predicate == .node("openEHR-EHR-SECTION.adhoc.v1", name: .literal(.string("Vital signs"))))
        #expect(parts[1].predicate == .and(.node("at0001.1", name: nil), .comparison(ObjectPath(parts: [PathPart(attribute: "name"), PathPart(attribute: "value")]), .equal, .literal(.string("x")))))
    }

    /// §3.7 WHERE: operators, AND/OR/NOT, EXISTS, LIKE, MATCHES, functions.
    @Test func whereClauseOperatorsAndPrecedence() throws {
        let query = try parse(
            """
            SELECT e/ehr_id/value FROM EHR e CONTAINS OBSERVATION o
            WHERE o/data/events/data/items/value/magnitude >= 140 AND NOT EXISTS o/protocol OR o/name/value LIKE 'Blood*'
            """)
        guard case .or(.and(.comparison(.path, .greaterOrEqual, .literal(.integer(140))), .not(.exists)), .like(_, .literal(.string("Blood*"))))? = query.condition else {
            Issue.record("\(String(describing: query.condition))")
            return
        }
    }

    @Test func matchesListsTerminologyAndFunctions() throws {
        let query = try parse(
            """
            SELECT COUNT(DISTINCT e/ehr_id/value) AS patients, MAX(o/time/value), COUNT(*) FROM EHR e CONTAINS OBSERVATION o
            WHERE o/value/defining_code/code_string MATCHES {'at0001', 'at0002', $code}
              AND o/value/defining_code MATCHES TERMINOLOGY('expand', 'hl7.org/fhir/4.0', 'url=http://snomed.info/sct?fhir_vs=isa/50697003')
              AND LENGTH(o/name/value) > 3 AND CONTAINS(o/name/value, 'pressure') = true
              AND o/time/value > '2024-01-01T00:00:00Z' AND o/value/magnitude != -1.5e3
            ORDER BY o/time/value DESC, e/ehr_id/value
            LIMIT 10 OFFSET 20
            """)
        #expect(query.select.columns.count == 3)
        #expect(query.select.columns[0].expression == .aggregate(Aggregate(function: .count, distinct: true, path: IdentifiedPath(variable: "e", predicate: nil, path: ObjectPath(parts: [PathPart(attribute: "ehr_id"), PathPart(attribute: "value")])))))
        #expect(query.select.columns[2].expression == .aggregate(Aggregate(function: .count, distinct: false, path: nil)))
        #expect(query.orderBy.map(\.descending) == [true, false])
        #expect(query.limit == 10 && query.offset == 20)
        var found: [String] = []
        func walk(_ condition: Condition) {
            switch condition {
            case .and(let a, let b), .or(let a, let b): walk(a); walk(b)
            case .not(let a): walk(a)
            case .matches(_, .values(let values)): found.append("matches \(values.count)")
            case .matches(_, .terminology(let call)): found.append("terminology \(call.arguments.count)")
            case .comparison(.function(let call), _, _): found.append(call.name)
            case .comparison(_, _, .literal(.real(let text))): found.append(text)
            default: break
            }
        }
        if let condition = query.condition { walk(condition) }
        #expect(found == ["matches 3", "terminology 3", "LENGTH", "CONTAINS", "-1.5e3"])
    }

    @Test func keywordsAreCaseInsensitiveAndCommentsIgnored() throws {
        let query = try parse("select distinct c -- the compositions\nfrom composition c where c/name/value = \"it's\" limit 5")
        #expect(query.select.distinct)
        #expect(query.limit == 5)
        guard case .comparison(_, .equal, .literal(.string("it's")))? = query.condition else { Issue.record("\(String(describing: query.condition))"); return }
    }

    /// Rejected queries: where, what was found and what was expected.
    @Test(arguments: [
        ("SELECT FROM EHR e", 1, 8, "FROM", "a path, a value, an aggregate or a function in SELECT"),
        ("SELECT e FROM", 1, 14, "the end of the query", "an RM class name"),
        ("SELECT e FROM EHR e WHERE", 1, 26, "the end of the query", "a condition"),
        ("SELECT e\nFROM EHR e\nWHERE e/ehr_id/value == 'x'", 3, 23, "=", "a value, a parameter, a path or a function after ="),
        ("SELECT o FROM OBSERVATION o[at0001 'x']", 1, 36, "'x'", "']'"),
        ("SELECT e FROM EHR e LIMIT ten", 1, 27, "'ten'", "a row count after LIMIT"),
        ("SELECT e FROM EHR e ORDER e/time", 1, 27, "'e'", "BY"),
        ("SELECT e FROM EHR e WHERE e/a = 'x", 1, 33, "an unterminated string", "the closing '"),
        ("SELECT e FROM EHR e CONTAINS", 1, 29, "the end of the query", "an RM class name"),
        ("SELECT e FROM EHR e WHERE e/a MATCHES ('a')", 1, 39, "'('", "'{'"),
        ("SELECT e FROM EHR e WHERE TERMINOLOGY('a', 'b') = 1", 1, 27, "TERMINOLOGY with 2 argument(s)", "TERMINOLOGY(operation, service_api, params) with three strings"),
        ("SELECT e FROM EHR e extra", 1, 21, "'extra'", "WHERE, ORDER BY, LIMIT or the end of the query"),
        ("SELECT e FROM EHR e WHERE e/a ~ 1", 1, 31, "'~'", "a keyword, a name, a value or an operator"),
    ])
    func rejectedWithPositionAndExpectation(text: String, line: Int, column: Int, found: String, expected: String) {
        do {
            _ = try parse(text)
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.line == line, "\(error)")
            #expect(error.column == column, "\(error)")
            #expect(error.found == found, "\(error)")
            #expect(error.expected.hasPrefix(expected), "\(error)")
        }
    }
}
