import AQL
import JSONCore
import OpenEHR
import Services
import SocleTestSupport
import Storage
import Testing

/// Issue 19 §1: conditions, ORDER BY and aggregates on any RM attribute
/// path, indexed or not (AQL 1.1 §4.3 identified paths, §4.7 WHERE, §4.6
/// ORDER BY, §4.5.2 aggregate functions). A value the node index has no
/// column for is read from the stored canonical JSON of the matched rows,
/// and the plan says so.
extension QueryServiceTests {
    /// The queries quoted in issue 19 ("Why"), answered on both engines.
    @Test(arguments: TestEngine.available, NodeIndex.allCases)
    func conditionsOnAttributesOutsideTheIndex(engine: TestEngine, index: NodeIndex) async throws {
        try await TestDatabase.with(engine) { database in
            let f = try await Fixture(database, index)
            let all: [Double] = [120, 135, 150, 170]
            #expect(try await Self.systolicValues(f, where: "c/context/location = 'ICU'") == [150, 170])
            #expect(try await Self.systolicValues(f, where: "c/context/location LIKE 'I?U'") == [150, 170])
            #expect(try await Self.systolicValues(f, where: "NOT c/context/location = 'ICU'") == [120, 135])
            #expect(try await Self.systolicValues(f, where: "EXISTS c/context/location") == [150, 170])
            #expect(try await Self.systolicValues(f, where: "NOT EXISTS c/context/location") == [120, 135])
            #expect(try await Self.systolicValues(f, where: "c/context/location = 'ICU' OR \(Self.systolic) < 130") == [120, 150, 170])
            #expect(try await Self.systolicValues(f, where: "c/language/code_string = 'de' AND c/territory/code_string = 'DE'") == all)
            #expect(try await Self.systolicValues(f, where: "c/language/terminology_id/value = 'ISO_639-1'") == all)
            #expect(try await Self.systolicValues(f, where: "c/territory/code_string = 'FR'") == [])
            #expect(try await Self.systolicValues(f, where: "o/language/code_string = 'de'") == all)
            #expect(try await Self.systolicValues(f, where: "o/subject/external_ref/id/value = 'patient-170'") == [170])
            #expect(try await Self.systolicValues(f, where: "o/archetype_node_id = 'openEHR-EHR-OBSERVATION.sample_blood_pressure.v1'") == all)
            #expect(try await Self.systolicValues(f, where: "o/data[at0001]/events[at0002]/archetype_node_id = 'at0002'") == all)
            // Below a data value: a Boolean and a Real the index does not keep.
            let quantity = "o/data[at0001]/events[at0002]/data[at0003]/items[at0004]/value"
            #expect(try await Self.systolicValues(f, where: "\(quantity)/accuracy_is_percent = false") == [120])
            #expect(try await Self.systolicValues(f, where: "\(quantity)/accuracy < 5") == [120])
            #expect(try await Self.systolicValues(f, where: "\(quantity)/accuracy_is_percent = true") == [])
            // A parameter compares as the literal would.
            let located = try await f.numbers(
                "SELECT \(Self.systolic) FROM EHR e CONTAINS COMPOSITION c CONTAINS \(Self.bloodPressure) WHERE c/context/location = $where", ["where": "ICU"])
            #expect(located.sorted() == [150, 170])
        }
    }

    @Test(arguments: TestEngine.available, NodeIndex.allCases)
    func orderAndAggregatesOnAttributesOutsideTheIndex(engine: TestEngine, index: NodeIndex) async throws {
        try await TestDatabase.with(engine) { database in
            let f = try await Fixture(database, index)
            // Absent values sort as the smallest: last when descending.
            let ordered = try await f.numbers(
                "SELECT \(Self.systolic) FROM EHR e CONTAINS COMPOSITION c CONTAINS \(Self.bloodPressure) ORDER BY c/context/location DESC, \(Self.systolic) ASC")
            #expect(ordered == [150, 170, 120, 135])
            let aggregates = try await f.run("SELECT MAX(c/context/location), COUNT(c/context/location), MIN(c/territory/code_string) FROM EHR e CONTAINS COMPOSITION c")
            #expect(aggregates == [["ICU", .number("2"), "DE"]])
            let grouped = try await f.run("SELECT c/context/location AS location, COUNT(*) AS n FROM EHR e CONTAINS COMPOSITION c ORDER BY location")
            #expect(grouped == [[.null, .number("3")], ["ICU", .number("2")]])
            let explained = try await f.query.execute(QueryService.Request(q: "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c WHERE c/context/location = 'ICU'", explain: true))
            let plan = explained["meta"]?["_explain"]?["plan"]?.arrayValue?.compactMap(\.stringValue).joined(separator: "\n") ?? ""
            #expect(plan.contains("stored JSON("), "the plan says the value is read from the stored version: \(plan)")
        }
    }

    /// What cannot be read as one value is refused with the reason: an RM
    /// object compared whole, a path through a list that is not indexed.
    @Test(arguments: TestEngine.available)
    func attributesThatAreNotOneValueAreRefused(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { database in
            let f = try await Fixture(database)
            func refusal(_ q: String) async -> String? {
                do {
                    _ = try await f.query.execute(QueryService.Request(q: q))
                    return nil
                } catch let error as ServiceError {
                    return error.kind == .badRequest ? error.message : "\(error.kind): \(error.message)"
                } catch {
                    return "\(error)"
                }
            }
            let object = await refusal("SELECT c FROM EHR e CONTAINS COMPOSITION c WHERE c/language = 'de'")
            #expect(object?.contains("is an RM object") == true, "\(object ?? "accepted")")
            let list = await refusal("SELECT c FROM EHR e CONTAINS COMPOSITION c WHERE c/context/participations/performer/name = 'Test'")
            #expect(list?.contains("crosses 'participations', which holds a list") == true, "\(list ?? "accepted")")
        }
    }
}
