import AQL
import JSONCore
import OpenEHR
import Services
import SocleTestSupport
import Storage
import Testing

/// Issue 19 §3: aggregates and ordering on data value objects (AQL 1.1
/// §4.5.2 aggregate functions, §4.6 ORDER BY): MIN and MAX give the object
/// that has the extreme ordering value, COUNT counts objects, SUM and AVG
/// add quantities in one unit, ORDER BY an object orders by its ordering
/// value with one row per row.
extension QueryServiceTests {
    static let quantity = "o/data[at0001]/events[at0002]/data[at0003]/items[at0004]/value"

    @Test(arguments: TestEngine.available, NodeIndex.allCases)
    func minAndMaxOfADataValueGiveTheObject(engine: TestEngine, index: NodeIndex) async throws {
        try await TestDatabase.with(engine) { database in
            let f = try await Fixture(database, index)
            let times = try await f.run("SELECT MAX(c/context/start_time), MIN(c/context/start_time) AS first FROM EHR e CONTAINS COMPOSITION c")
            #expect(times == [[["_type": "DV_DATE_TIME", "value": "2025-06-10T09:00:00Z"], ["_type": "DV_DATE_TIME", "value": "2025-01-10T09:00:00Z"]]], "\(times)")
            let highest = try await f.run("SELECT MAX(\(Self.quantity)) FROM EHR e CONTAINS COMPOSITION c CONTAINS \(Self.bloodPressure)")
            #expect(highest.first?.first?["_type"] == "DV_QUANTITY" && highest.first?.first?["units"] == "mm[Hg]")
            #expect(highest.first?.first?["magnitude"].flatMap { if case .number(let text) = $0 { Double(text) } else { nil } } == 170)
            // Grouped by the other columns: each EHR's highest and lowest.
            let perEHR = try await f.run(
                "SELECT e/ehr_id/value, MAX(\(Self.quantity)) AS high, MIN(\(Self.quantity)) AS low, COUNT(*) AS n FROM EHR e CONTAINS COMPOSITION c CONTAINS \(Self.bloodPressure) ORDER BY n DESC")
            func magnitude(_ value: JSON) -> Double? { if case .number(let text)? = value["magnitude"] { Double(text) } else { nil } }
            #expect(perEHR.map { [$0[0].stringValue ?? "", "\(magnitude($0[1]) ?? -1)", "\(magnitude($0[2]) ?? -1)"] } == [
                [f.ehrA, "170.0", "120.0"], [f.ehrB, "135.0", "135.0"],
            ])
            // No row matched: null.
            #expect(try await f.run("SELECT MAX(\(Self.quantity)) FROM EHR e CONTAINS COMPOSITION c CONTAINS \(Self.bloodPressure) WHERE \(Self.systolic) > 500") == [[.null]])
            let explained = try await f.query.execute(QueryService.Request(q: "SELECT MAX(c/context/start_time) FROM EHR e CONTAINS COMPOSITION c", explain: true))
            #expect(explained["meta"]?["_explain"]?["plan"]?.arrayValue?.contains { $0.stringValue?.contains("MAX node(") == true } == true)
        }
    }

    @Test(arguments: TestEngine.available, NodeIndex.allCases)
    func countSumAndAverageOfDataValues(engine: TestEngine, index: NodeIndex) async throws {
        try await TestDatabase.with(engine) { database in
            let f = try await Fixture(database, index)
            // A coded text has no number: it is counted all the same.
            #expect(try await f.run("SELECT COUNT(c/context/setting), COUNT(c/context/start_time) FROM EHR e CONTAINS COMPOSITION c") == [[.number("5"), .number("5")]])
            #expect(try await f.run("SELECT COUNT(\(Self.quantity)) FROM EHR e CONTAINS COMPOSITION c CONTAINS \(Self.bloodPressure)") == [[.number("4")]])
            let sums = try await f.run("SELECT SUM(\(Self.quantity)), AVG(\(Self.quantity)) FROM EHR e CONTAINS COMPOSITION c CONTAINS \(Self.bloodPressure)")
            let numbers = sums.first?.map { value -> Double? in if case .number(let text) = value { Double(text) } else { nil } }
            #expect(numbers == [575, 143.75], "\(sums)")
            do {
                _ = try await f.run("SELECT AVG(c/context/setting) FROM EHR e CONTAINS COMPOSITION c")
                Issue.record("AVG of a coded text was accepted")
            } catch let error as ServiceError {
                #expect(error.kind == .badRequest && error.message.contains("AVG needs numbers"), "\(error.message)")
            }
            // An RM object that is not a data value is counted, not compared.
            #expect(try await f.run("SELECT COUNT(o) FROM EHR e CONTAINS COMPOSITION c CONTAINS \(Self.bloodPressure)") == [[.number("4")]])
            do {
                _ = try await f.run("SELECT MAX(o) FROM EHR e CONTAINS COMPOSITION c CONTAINS \(Self.bloodPressure)")
                Issue.record("MAX of an OBSERVATION was accepted")
            } catch let error as ServiceError {
                #expect(error.kind == .badRequest && error.message.contains("MAX of 'o', an RM object that is not a data value"), "\(error.message)")
            }
        }
    }

    /// ORDER BY an object orders by its ordering value, one row per row.
    @Test(arguments: TestEngine.available, NodeIndex.allCases)
    func orderByADataValueObject(engine: TestEngine, index: NodeIndex) async throws {
        try await TestDatabase.with(engine) { database in
            let f = try await Fixture(database, index)
            let byTime = try await f.run("SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c ORDER BY c/context/start_time DESC")
            let expected = ["170", "none", "150", "135", "120"].map { f.compositions[$0] ?? "?" }
            #expect(byTime.map { $0.first?.stringValue?.components(separatedBy: "::").first ?? "" } == expected)
            #expect(try await f.numbers("SELECT \(Self.systolic) FROM EHR e CONTAINS COMPOSITION c CONTAINS \(Self.bloodPressure) ORDER BY \(Self.quantity) DESC") == [170, 150, 135, 120])
            #expect(try await f.numbers("SELECT \(Self.systolic) FROM EHR e CONTAINS COMPOSITION c CONTAINS \(Self.bloodPressure) ORDER BY \(Self.quantity)") == [120, 135, 150, 170])
        }
    }

    /// In a query with aggregates, ORDER BY names what is selected (AQL 1.1
    /// §4.6): a value that is neither grouped nor aggregated is refused, on
    /// both engines alike (SQLite would pick any row's; PostgreSQL refuses it).
    @Test(arguments: TestEngine.available)
    func groupedQueriesOrderBySelectedValues(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { database in
            let f = try await Fixture(database)
            let grouped = try await f.run("SELECT c/context/location AS location, COUNT(*) AS n FROM EHR e CONTAINS COMPOSITION c ORDER BY c/context/location DESC")
            #expect(grouped == [["ICU", .number("2")], [.null, .number("3")]])
            let byAlias = try await f.run("SELECT c/context/location AS location, COUNT(*) AS n FROM EHR e CONTAINS COMPOSITION c ORDER BY n DESC, location")
            #expect(byAlias == [[.null, .number("3")], ["ICU", .number("2")]])
            let byTime = try await f.run(
                "SELECT c/context/start_time/value, COUNT(*) AS n FROM EHR e CONTAINS COMPOSITION c WHERE e/ehr_id/value = '\(f.ehrA)' ORDER BY c/context/start_time/value DESC")
            #expect(byTime.map { $0[0] } == ["2025-06-10T09:00:00Z", "2025-03-10T09:00:00Z", "2025-01-10T09:00:00Z"])
            for order in ["c/territory/code_string", "c/composer/name", "c/context/start_time/value"] {
                do {
                    _ = try await f.run("SELECT c/context/location AS location, COUNT(*) AS n FROM EHR e CONTAINS COMPOSITION c ORDER BY \(order)")
                    Issue.record("ORDER BY \(order), not selected, was accepted in a grouped query")
                } catch let error as ServiceError {
                    #expect(error.kind == .badRequest && error.message.contains("ORDER BY"), "\(error.message)")
                }
            }
        }
    }
}
