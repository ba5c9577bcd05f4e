import AQL
import Foundation
import JSONCore
import OpenEHR
import Services
import SocleTestSupport
import Storage
import Testing

/// Issue 19 §5: EHR_STATUS.is_queryable and the versions of compositions.
extension QueryServiceTests {
    /// RM ehr package §EHR_STATUS: `is_queryable` — "True if this EHR should
    /// be included in population queries". A query that names the EHR reads it.
    @Test(arguments: TestEngine.available)
    func unqueryableEHRsAreLeftOutOfPopulationQueries(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { database in
            let f = try await Fixture(database)
            let (summary, first) = try await f.services.ehrs.createEHR(status: EHRStatus(isQueryable: false), committal: f.services.committal)
            let hidden = summary.record.ehrID
            _ = try await f.services.compositions.create(
                ehrID: hidden, json: Fixture.bloodPressure(systolic: 190, time: "2025-05-01T09:00:00Z"), committal: f.services.committal)
            let population = "SELECT \(Self.systolic) FROM EHR e CONTAINS COMPOSITION c CONTAINS \(Self.bloodPressure)"
            #expect(try await f.numbers(population).sorted() == [120, 135, 150, 170])
            #expect(try await f.numbers("SELECT \(Self.systolic) FROM COMPOSITION c CONTAINS \(Self.bloodPressure)").sorted() == [120, 135, 150, 170])
            #expect(try await f.run("SELECT COUNT(*) FROM EHR e") == [[.number("2")]])
            #expect(try await f.run("SELECT COUNT(*) FROM EHR_STATUS s") == [[.number("2")]])
            // Named: by the FROM predicate, by a WHERE conjunct, by MATCHES.
            #expect(try await f.numbers("SELECT \(Self.systolic) FROM EHR e[ehr_id/value = '\(hidden)'] CONTAINS COMPOSITION c CONTAINS \(Self.bloodPressure)") == [190])
            #expect(try await f.numbers("\(population) WHERE e/ehr_id/value = '\(hidden)'") == [190])
            #expect(try await f.numbers("\(population) WHERE e/ehr_id/value MATCHES {'\(hidden)', '\(f.ehrB)'}").sorted() == [135, 190])
            // Not named: an EHR id compared otherwise is still a population query.
            #expect(try await f.numbers("\(population) WHERE e/ehr_id/value != '\(f.ehrA)'") == [135])
            // Queryable again: back in the population.
            _ = try await f.services.ehrs.updateStatus(
                ehrID: hidden, precedingVersionUID: first.uid.description, status: EHRStatus(isQueryable: true), committal: f.services.committal)
            #expect(try await f.numbers(population).sorted() == [120, 135, 150, 170, 190])
        }
    }
}
