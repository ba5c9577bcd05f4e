import Foundation
import HTTPTypes
import JSONCore
import SocleTestSupport
import Storage
import Testing

/// Search at type level (R4 search, first part: token, string, reference,
/// uri and date parameters, `_id`, OR and AND, `_count`, `_total`,
/// `_summary=count`, paging that stays valid while data changes, GET and
/// POST `_search`, unknown parameters ignored or refused with
/// `Prefer: handling=strict`), on both engines.
@Suite("FHIR REST: search")
struct FHIRSearchTests {
    static let json = FHIRRoutesTests.json

    static func patient(_ family: String, gender: String, birthDate: String, identifier: String) -> String {
        #"""
        {"resourceType": "Patient", "identifier": [{"system": "urn:oid:1.2.250.1.213.1.4.8", "value": "\#(identifier)"}],
         "name": [{"family": "\#(family)", "given": ["Anne"]}], "gender": "\#(gender)", "birthDate": "\#(birthDate)"}
        """#
    }

    static func ids(_ reply: Reply?) -> [String] {
        (reply?.json["entry"]?.arrayValue ?? []).compactMap { $0["resource"]?["id"]?.stringValue }
    }

    /// A link of a searchset, as a path on the test server.
    static func link(_ relation: String, _ reply: Reply?) -> String? {
        reply?.json["link"]?.arrayValue?.first { $0["relation"]?.stringValue == relation }?["url"]?.stringValue
            .map { String($0.dropFirst("http://localhost".count)) }
    }

    /// Three patients and their ids: Élise Dupont (female, 1970-05-02),
    /// Marc Durand (male, 1985-11-30), Zoé Martin (female, 2001-01-15).
    static func seed(_ server: TestServer) async throws -> (dupont: String, durand: String, martin: String) {
        (
            try await FHIRRoutesTests.create(server, "Patient", patient("Dupont", gender: "female", birthDate: "1970-05-02", identifier: "1")),
            try await FHIRRoutesTests.create(server, "Patient", patient("Durand", gender: "male", birthDate: "1985-11-30", identifier: "2")),
            try await FHIRRoutesTests.create(server, "Patient", patient("Martin", gender: "female", birthDate: "2001-01-15", identifier: "3"))
        )
    }

    @Test(arguments: TestEngine.available)
    func parametersOfEachTypeFindTheirMatches(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let (dupont, durand, martin) = try await Self.seed(server)
            let cases: [(String, Set<String>)] = [
                // token (R4 search §token): code, system|code, |code.
                ("gender=female", [dupont, martin]),
                ("identifier=urn:oid:1.2.250.1.213.1.4.8%7C2", [durand]),
                ("identifier=%7C2", []),
                ("identifier=2", [durand]),
                // string (R4 search §string): starts with, case and accents folded; :exact.
                ("family=du", [dupont, durand]),
                ("family=DUP", [dupont]),
                ("family:exact=Dupont", [dupont]),
                ("family:exact=dupont", []),
                // date (R4 search §date, §Prefixes): a value written to the year or the day is a range.
                ("birthdate=1970", [dupont]),
                ("birthdate=1985-11-30", [durand]),
                ("birthdate=gt1985-11-30", [martin]),
                ("birthdate=ge1985-11-30", [durand, martin]),
                ("birthdate=lt1985", [dupont]),
                ("birthdate=le1985-11-30", [dupont, durand]),
                ("birthdate=ne1970", [durand, martin]),
                ("birthdate=sa2000", [martin]),
                ("birthdate=eb1971", [dupont]),
                // _id, OR with commas, AND with repeats (R4 search: "OR" and "AND").
                ("_id=\(durand)", [durand]),
                ("_id=\(durand),\(martin)", [durand, martin]),
                ("gender=female&birthdate=ge2000", [martin]),
                ("family=du,ma&gender=female", [dupont, martin]),
                ("", [dupont, durand, martin]),
                // _lastUpdated (R4 search §Parameters for all resources), a date.
                ("_lastUpdated=ge2020", [dupont, durand, martin]),
                ("_lastUpdated=lt2020", []),
            ]
            for (query, expected) in cases {
                let reply = try await server.send(.get, "/fhir/Patient?\(query)")
                #expect(reply.status == .ok && reply.json["type"]?.stringValue == "searchset", "\(query): \(reply.status) \(reply.body)")
                #expect(Set(Self.ids(reply)) == expected, "\(query)")
                #expect(reply.json["total"] == JSON(expected.count), "\(query) total")
            }
            // reference (R4 search §reference): Type/id and id.
            let observation = try await FHIRRoutesTests.create(server, "Observation", FHIRRoutesTests.observation(patient: "Patient/\(durand)"))
            for query in ["subject=Patient/\(durand)", "subject=\(durand)", "patient=\(durand)", "code=http://loinc.org%7C8480-6"] {
                #expect(Self.ids(try await server.send(.get, "/fhir/Observation?\(query)")) == [observation], "\(query)")
            }
            #expect(Self.ids(try await server.send(.get, "/fhir/Observation?subject=Patient/\(dupont)")).isEmpty)
            // A deleted resource is no longer found.
            #expect(try await server.send(.delete, "/fhir/Observation/\(observation)").status == .ok)
            #expect(Self.ids(try await server.send(.get, "/fhir/Observation?subject=\(durand)")).isEmpty)
        }
    }

    /// Paging (R4 search §Paging): `_count` per page, `next` until the end,
    /// each match exactly once, and a `next` link still right after a
    /// resource was created and another updated meanwhile; `_total=none` and `_summary=count`.
    @Test(arguments: TestEngine.available)
    func pagesWalkEveryMatchOnce(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            var created: Set<String> = []
            for index in 0..<23 {
                created.insert(try await FHIRRoutesTests.create(server, "Patient", Self.patient("Page\(index)", gender: "other", birthDate: "1990-01-01", identifier: "p\(index)")))
            }
            var seen: [String] = []
            var url: String? = "/fhir/Patient?gender=other&_count=5"
            var pages = 0
            while let next = url {
                let reply = try await server.send(.get, next)
                #expect(reply.status == .ok, "\(reply.body)")
                seen += Self.ids(reply)
                pages += 1
                if pages == 2 {
                    // Created meanwhile, with an id before every other: an unsorted
                    // search is in the index's order (creation), so the walk meets it at the end.
                    let early = #"{"resourceType": "Patient", "id": "000-early", "gender": "other"}"#
                    #expect(try await server.send(.put, "/fhir/Patient/000-early", headers: Self.json, body: early).status == .created)
                    // Updated meanwhile: it keeps its place, and is not seen twice.
                    let updated = Self.patient("Page0", gender: "other", birthDate: "1991-01-01", identifier: "p0")
                    let firstID = try #require(seen.first)
                    let withID = updated.replacingOccurrences(of: #""resourceType": "Patient""#, with: #""resourceType": "Patient", "id": "\#(firstID)""#)
                    #expect(try await server.send(.put, "/fhir/Patient/" + firstID, headers: Self.json, body: withID).status == .ok)
                }
                let links = reply.json["link"]?.arrayValue ?? []
                #expect(links.contains { $0["relation"]?.stringValue == "self" } && links.contains { $0["relation"]?.stringValue == "first" })
                url = links.first { $0["relation"]?.stringValue == "next" }?["url"]?.stringValue.map { String($0.dropFirst("http://localhost".count)) }
            }
            #expect(pages == 5)
            #expect(seen.count == 24 && Set(seen) == created.union(["000-early"]) && seen.last == "000-early", "\(seen)")
            // `previous` of the second page is the first page again.
            let first = try await server.send(.get, "/fhir/Patient?gender=other&_count=5")
            let second = try await server.send(.get, try #require(Self.link("next", first)))
            let back = try await server.send(.get, try #require(Self.link("previous", second)))
            #expect(Self.link("previous", first) == nil && Self.ids(back) == Self.ids(first) && Self.ids(second) != Self.ids(first))
            let none = try await server.send(.get, "/fhir/Patient?gender=other&_total=none&_count=1")
            #expect(none.json["total"] == nil && Self.ids(none).count == 1)
            let count = try await server.send(.get, "/fhir/Patient?gender=other&_summary=count")
            #expect(count.json["total"] == 24 && count.json["entry"]?.arrayValue?.isEmpty == true, "\(count.body)")
        }
    }

    /// GET and POST `_search` give the same results (R4 search §Introduction);
    /// an unknown parameter is ignored and left out of `self`, or refused with
    /// `Prefer: handling=strict`; a wrong value is 400.
    @Test(arguments: TestEngine.available)
    func postSearchUnknownParametersAndBadValues(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let (dupont, _, martin) = try await Self.seed(server)
            let get = try await server.send(.get, "/fhir/Patient?gender=female&colour=blue")
            #expect(Set(Self.ids(get)) == [dupont, martin])
            let selfLink = get.json["link"]?.arrayValue?.first { $0["relation"]?.stringValue == "self" }?["url"]?.stringValue ?? ""
            #expect(selfLink.contains("gender=female") && !selfLink.contains("colour"), "\(selfLink)")
            let post = try await server.send(
                .post, "/fhir/Patient/_search", headers: ["Content-Type": "application/x-www-form-urlencoded"], body: "gender=female&colour=blue")
            #expect(Self.ids(post) == Self.ids(get))
            #expect(try await server.send(.post, "/fhir/Patient/_search", headers: Self.json, body: "{}").status == .unsupportedMediaType)
            let strict = try await server.send(.get, "/fhir/Patient?gender=female&colour=blue", headers: ["Prefer": "handling=strict"])
            #expect(strict.status == .badRequest && strict.body.contains("colour"), "\(strict.body)")
            for query in ["birthdate=yesterday", "birthdate=gt1970-13", "_count=-1", "_count=x", "_total=some", "gender="] {
                let reply = try await server.send(.get, "/fhir/Patient?\(query)")
                #expect(reply.status == .badRequest && reply.json["resourceType"]?.stringValue == "OperationOutcome", "\(query): \(reply.status)")
            }
            #expect(try await server.send(.get, "/fhir/Nothing?x=1").status == .notFound)
        }
    }
    /// Edge cases of R4 search §date, §token and §missing: instants with a
    /// time zone compared in UTC with search values that carry their own
    /// (a day written without one is the server's, UTC); an identifier without
    /// a system found by `|value` and by `value`, not under a system;
    /// `:missing` on a name that is there but has no family.
    @Test(arguments: TestEngine.available)
    func timeZonesSystemlessIdentifiersAndEmptyElements(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let patient = try await FHIRRoutesTests.create(server, "Patient", #"{"resourceType": "Patient", "identifier": [{"value": "nosys"}], "name": [{"use": "official"}]}"#)
            let named = try await FHIRRoutesTests.create(server, "Patient", #"{"resourceType": "Patient", "name": [{"family": "Nom"}]}"#)
            // 01:30 at +02:00 on 1 March is 23:30 UTC on 29 February.
            let late = try await FHIRRoutesTests.create(
                server, "Observation",
                #"{"resourceType": "Observation", "status": "final", "code": {"text": "t"}, "effectiveDateTime": "2020-03-01T01:30:00+02:00"}"#)
            let cases: [(String, Set<String>)] = [
                ("Observation?date=2020-02-29", [late]),
                ("Observation?date=2020-03-01", []),
                ("Observation?date=ge2020-02-29T23:00:00Z", [late]),
                ("Observation?date=gt2020-02-29T23:30:00Z", []),
                ("Observation?date=lt2020-02-29T23:00:00-01:00", [late]),
                ("Observation?date=lt2020-02-29T23:00:00%2B01:00", []),
                ("Observation?date=2020-03-01T01:30:00%2B02:00", [late]),
                ("Observation?date=2020-02", [late]),
                ("Patient?identifier=%7Cnosys", [patient]),
                ("Patient?identifier=nosys", [patient]),
                ("Patient?identifier=http://example.org%7Cnosys", []),
                ("Patient?family:missing=true", [patient]),
                ("Patient?family:missing=false", [named]),
                ("Patient?name:missing=false", [named]),
            ]
            for (query, expected) in cases {
                let reply = try await server.send(.get, "/fhir/\(query)")
                #expect(reply.status == .ok, "\(query): \(reply.body)")
                #expect(Set(Self.ids(reply)) == expected, "\(query)")
            }
        }
    }

    /// number (R4 search §number: the search value's precision makes eq an
    /// interval), quantity (§quantity: `[prefix]value|system|code`, `value||code`),
    /// and the modifiers `:missing` (every type), `:not` (token, a resource
    /// without a value included), `:contains` (string).
    @Test(arguments: TestEngine.available)
    func numbersQuantitiesAndModifiers(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let (dupont, durand, martin) = try await Self.seed(server)
            let unknown = try await FHIRRoutesTests.create(server, "Patient", #"{"resourceType": "Patient", "name": [{"family": "Sans"}]}"#)
            func risk(_ probability: String) -> String {
                #"{"resourceType": "RiskAssessment", "status": "final", "subject": {"reference": "Patient/\#(dupont)"}, "prediction": [{"probabilityDecimal": \#(probability)}]}"#
            }
            let low = try await FHIRRoutesTests.create(server, "RiskAssessment", risk("0.25"))
            let high = try await FHIRRoutesTests.create(server, "RiskAssessment", risk("0.8"))
            let pressure = try await FHIRRoutesTests.create(server, "Observation", FHIRRoutesTests.observation(patient: "Patient/\(durand)", value: 120))
            let other = try await FHIRRoutesTests.create(server, "Observation", FHIRRoutesTests.observation(patient: "Patient/\(martin)", value: 95))
            let cases: [(String, Set<String>)] = [
                ("RiskAssessment?probability=0.8", [high]),
                ("RiskAssessment?probability=0.83", []),
                ("RiskAssessment?probability=0.2", []),
                ("RiskAssessment?probability=gt0.5", [high]),
                ("RiskAssessment?probability=le0.25", [low]),
                ("RiskAssessment?probability=ne0.8", [low]),
                ("Observation?value-quantity=120%7Chttp://unitsofmeasure.org%7Cmm[Hg]", [pressure]),
                ("Observation?value-quantity=gt100", [pressure]),
                ("Observation?value-quantity=lt100%7C%7Cmm[Hg]", [other]),
                ("Observation?value-quantity=120%7Chttp://unitsofmeasure.org%7Ckg", []),
                ("Observation?value-quantity=ap100", [other]),
                ("Patient?birthdate:missing=true", [unknown]),
                ("Patient?birthdate:missing=false", [dupont, durand, martin]),
                ("Patient?gender:not=male", [dupont, martin, unknown]),
                ("Patient?gender:not=male,female", [unknown]),
                ("Patient?family:contains=ran", [durand]),
                ("Patient?family:contains=RT", [martin]),
            ]
            for (query, expected) in cases {
                let reply = try await server.send(.get, "/fhir/\(query)")
                #expect(reply.status == .ok, "\(query): \(reply.body)")
                #expect(Set(Self.ids(reply)) == expected, "\(query)")
            }
            for query in ["RiskAssessment?probability=high", "RiskAssessment?probability=gt", "Patient?birthdate:missing=maybe"] {
                #expect(try await server.send(.get, "/fhir/\(query)").status == .badRequest, "\(query)")
            }
        }
    }
    /// Compartment search (R4 search §Compartments, CompartmentDefinition
    /// Patient): the resources linked to the patient by the parameters the
    /// definition names, with the search's own parameters; the patient itself
    /// for its own type; 404 for a type outside the compartment.
    @Test(arguments: TestEngine.available)
    func searchWithinAPatientsCompartment(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let (dupont, durand, _) = try await Self.seed(server)
            let pressure = try await FHIRRoutesTests.create(server, "Observation", FHIRRoutesTests.observation(patient: "Patient/\(durand)", value: 120))
            let other = try await FHIRRoutesTests.create(server, "Observation", FHIRRoutesTests.observation(patient: "Patient/\(durand)", value: 80))
            _ = try await FHIRRoutesTests.create(server, "Observation", FHIRRoutesTests.observation(patient: "Patient/\(dupont)"))
            let all = try await server.send(.get, "/fhir/Patient/\(durand)/Observation")
            #expect(all.status == .ok && Set(Self.ids(all)) == [pressure, other], "\(all.body)")
            let selfLink = all.json["link"]?.arrayValue?.first?["url"]?.stringValue ?? ""
            #expect(selfLink.contains("/fhir/Patient/\(durand)/Observation?"), "\(selfLink)")
            #expect(Self.ids(try await server.send(.get, "/fhir/Patient/\(durand)/Observation?value-quantity=gt100")) == [pressure])
            #expect(Self.ids(try await server.send(.get, "/fhir/Patient/\(durand)/Patient")) == [durand])
            #expect(try await server.send(.get, "/fhir/Patient/\(durand)/Organization").status == .notFound)
            #expect(try await server.send(.get, "/fhir/Nothing/1/Observation").status == .notFound)
            // The instance routes beside it are unchanged.
            #expect(try await server.send(.get, "/fhir/Patient/\(durand)/_history").json["type"]?.stringValue == "history")
            #expect(try await server.send(.get, "/fhir/Patient/\(durand)/_history/1").status == .ok)
        }
    }
    /// `_include` and `_revinclude` (R4 search §Including other resources):
    /// the resources the matches refer to, or that refer to them, added once
    /// with `search.mode` include; the total counts the matches only.
    @Test(arguments: TestEngine.available)
    func includesAndReverseIncludes(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let (dupont, durand, _) = try await Self.seed(server)
            let pressure = try await FHIRRoutesTests.create(server, "Observation", FHIRRoutesTests.observation(patient: "Patient/\(durand)", value: 120))
            let other = try await FHIRRoutesTests.create(server, "Observation", FHIRRoutesTests.observation(patient: "Patient/\(durand)", value: 80))
            func modes(_ query: String) async throws -> (match: Set<String>, include: Set<String>, total: JSON?) {
                let reply = try await server.send(.get, "/fhir/\(query)")
                #expect(reply.status == .ok, "\(query): \(reply.body)")
                var result: (Set<String>, Set<String>) = ([], [])
                for entry in reply.json["entry"]?.arrayValue ?? [] {
                    let id = entry["resource"]?["id"]?.stringValue ?? ""
                    if entry["search"]?["mode"]?.stringValue == "include" { result.1.insert(id) } else { result.0.insert(id) }
                }
                return (result.0, result.1, reply.json["total"])
            }
            var found = try await modes("Observation?_id=\(pressure)&_include=Observation:subject")
            #expect(found.match == [pressure] && found.include == [durand] && found.total == 1)
            found = try await modes("Observation?_id=\(pressure),\(other)&_include=Observation:subject:Patient")
            #expect(found.match == [pressure, other] && found.include == [durand])
            #expect(try await modes("Observation?_include=Observation:subject:Practitioner").include.isEmpty)
            #expect(try await modes("Observation?_id=\(pressure)&_include=*").include == [durand])
            found = try await modes("Patient?_id=\(durand)&_revinclude=Observation:subject")
            #expect(found.match == [durand] && found.include == [pressure, other])
            #expect(try await modes("Patient?_id=\(dupont)&_revinclude=Observation:patient").include.isEmpty)
            // `_revinclude=*`: whatever refers to a match; `:iterate`: applied to what was included as well.
            #expect(try await modes("Patient?_id=\(durand)&_revinclude=*").include == [pressure, other])
            let practitioner = try await FHIRRoutesTests.create(server, "Practitioner", #"{"resourceType": "Practitioner", "name": [{"family": "Moreau"}]}"#)
            let cared = try await server.send(
                .put, "/fhir/Patient/\(durand)", headers: Self.json,
                body: #"{"resourceType": "Patient", "id": "\#(durand)", "generalPractitioner": [{"reference": "Practitioner/\#(practitioner)"}]}"#)
            #expect(cared.status == .ok)
            found = try await modes("Observation?_id=\(pressure)&_include=Observation:subject&_include:iterate=Patient:general-practitioner")
            #expect(found.match == [pressure] && found.include == [durand, practitioner])
            // Without :iterate, an _include names the searched type's references only.
            let plain = try await server.send(.get, "/fhir/Observation?_id=\(pressure)&_include=Observation:subject&_include=Patient:general-practitioner")
            #expect(plain.status == .badRequest)
            found = try await modes("Practitioner?_id=\(practitioner)&_revinclude=Patient:general-practitioner&_revinclude:iterate=Observation:subject")
            #expect(found.match == [practitioner] && found.include == [durand, pressure, other])
            for bad in ["Observation?_include=Patient:general-practitioner", "Observation?_include=Observation:code", "Observation?_include=nonsense",
                "Patient?_revinclude=Observation:unknown"] {
                #expect(try await server.send(.get, "/fhir/\(bad)").status == .badRequest, "\(bad)")
            }
        }
    }
    /// Chaining (R4 search §Chained parameters: `subject:Patient.name`, the
    /// type implied when only one target has the parameter, two levels) and
    /// reverse chaining (§Reverse chaining: `_has`, nested).
    @Test(arguments: TestEngine.available)
    func chainsAndReverseChains(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let (dupont, durand, martin) = try await Self.seed(server)
            let organization = try await FHIRRoutesTests.create(server, "Organization", #"{"resourceType": "Organization", "name": "Hôpital Nord"}"#)
            let linked = #"{"resourceType": "Patient", "gender": "male", "managingOrganization": {"reference": "Organization/\#(organization)"}}"#
            let managed = try await FHIRRoutesTests.create(server, "Patient", linked)
            let pressure = try await FHIRRoutesTests.create(server, "Observation", FHIRRoutesTests.observation(patient: "Patient/\(durand)", value: 120))
            let managedObservation = try await FHIRRoutesTests.create(server, "Observation", FHIRRoutesTests.observation(patient: "Patient/\(managed)", value: 90))
            let cases: [(String, Set<String>)] = [
                ("Observation?subject:Patient.family=durand", [pressure]),
                ("Observation?subject:Patient.gender=male", [pressure, managedObservation]),
                ("Observation?patient.family=dur", [pressure]),
                ("Observation?subject:Patient.organization.name=hopital", [managedObservation]),
                ("Observation?subject:Patient.birthdate=lt1980", []),
                ("Patient?_has:Observation:patient:code=http://loinc.org%7C8480-6", [durand, managed]),
                ("Patient?_has:Observation:subject:value-quantity=gt100", [durand]),
                ("Organization?_has:Patient:organization:_has:Observation:patient:value-quantity=lt100", [organization]),
                ("Patient?gender=female&_has:Observation:patient:code=http://loinc.org%7C8480-6", []),
            ]
            for (query, expected) in cases {
                let reply = try await server.send(.get, "/fhir/\(query)")
                #expect(reply.status == .ok, "\(query): \(reply.body)")
                #expect(Set(Self.ids(reply)) == expected, "\(query)")
            }
            _ = (dupont, martin)
            for bad in ["Observation?subject.name=x", "Patient?_has:Observation:code:code=x", "Patient?_has:Nothing:patient:code=x", "Patient?_has:Observation"] {
                #expect(try await server.send(.get, "/fhir/\(bad)").status == .badRequest, "\(bad)")
            }
        }
    }
    /// `_sort` (R4 search §Sorting): several keys, `-` for descending, on
    /// dates, strings, tokens, `_id`; resources without a value last; pages
    /// of one walked by `next` give the same order, each match once.
    @Test(arguments: TestEngine.available)
    func sortedSearchesAndTheirPages(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let (dupont, durand, martin) = try await Self.seed(server)
            let unknown = try await FHIRRoutesTests.create(server, "Patient", #"{"resourceType": "Patient", "gender": "female", "name": [{"family": "Sans"}]}"#)
            let cases: [(String, [String])] = [
                ("_sort=birthdate", [dupont, durand, martin, unknown]),
                ("_sort=-birthdate", [martin, durand, dupont, unknown]),
                ("_sort=family", [dupont, durand, martin, unknown]),
                ("_sort=-family", [unknown, martin, durand, dupont]),
                ("_sort=gender,-birthdate", [martin, dupont, unknown, durand]),
                ("_sort=_id", [dupont, durand, martin, unknown].sorted()),
                ("_sort=-_id", [dupont, durand, martin, unknown].sorted().reversed()),
            ]
            for (query, expected) in cases {
                #expect(Self.ids(try await server.send(.get, "/fhir/Patient?\(query)")) == expected, "\(query)")
                var walked: [String] = []
                var url: String? = "/fhir/Patient?\(query)&_count=1"
                while let next = url, walked.count <= expected.count {
                    let reply = try await server.send(.get, next)
                    #expect(reply.status == .ok, "\(next): \(reply.body)")
                    walked += Self.ids(reply)
                    url = reply.json["link"]?.arrayValue?.first { $0["relation"]?.stringValue == "next" }?["url"]?.stringValue
                        .map { String($0.dropFirst("http://localhost".count)) }
                }
                #expect(walked == expected, "\(query), one by one")
                // And back from the last page by `previous` links (R4 search §Paging), to the first, which has none.
                var back: [String] = []
                url = "/fhir/Patient?\(query)&_count=1"
                var last: Reply?
                while let next = url {
                    last = try await server.send(.get, next)
                    url = Self.link("next", last)
                }
                back = Self.ids(last)
                url = Self.link("previous", last)
                while let previous = url, back.count <= expected.count {
                    let reply = try await server.send(.get, previous)
                    #expect(reply.status == .ok, "\(previous): \(reply.body)")
                    back = Self.ids(reply) + back
                    url = Self.link("previous", reply)
                }
                #expect(back == expected, "\(query), backward")
            }
            // Pages of two going back hold the two before, in order.
            let third = try await server.send(.get, "/fhir/Patient?_sort=birthdate&_count=1&_page=" + (Self.link("next", try await server.send(.get, "/fhir/Patient?_sort=birthdate&_count=2"))?.components(separatedBy: "_page=").last ?? ""))
            let before = try await server.send(.get, try #require(Self.link("previous", third)).replacingOccurrences(of: "_count=1", with: "_count=2"))
            #expect(Self.ids(third) == [martin] && Self.ids(before) == [dupont, durand], "\(before.body)")
            #expect(Self.link("previous", before) == nil && Self.link("next", before) != nil)
            for bad in ["_sort=colour", "_sort=-", "_page=not-a-cursor&_sort=family"] {
                let reply = try await server.send(.get, "/fhir/Patient?\(bad)")
                #expect(reply.status == .badRequest, "\(bad): \(reply.status) \(reply.body)")
            }
        }
    }
    /// `Patient/{id}/$everything` (R4 Patient-everything): the patient, the
    /// resources of their compartment, the practitioners and organisations
    /// those refer to; `_type`, `_since`, paging; another patient's data left out.
    @Test(arguments: TestEngine.available)
    func everythingOfAPatient(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let (dupont, durand, _) = try await Self.seed(server)
            let practitioner = try await FHIRRoutesTests.create(server, "Practitioner", FHIRConditionalTests.practitioner("e-1"))
            let observation = FHIRRoutesTests.observation(patient: "Patient/\(durand)").replacingOccurrences(
                of: #""status": "final","#,
                with: #""status": "final", "effectiveDateTime": "2020-06-01", "performer": [{"reference": "Practitioner/\#(practitioner)"}],"#)
            let first = try await FHIRRoutesTests.create(server, "Observation", observation)
            let second = try await FHIRRoutesTests.create(
                server, "Observation",
                FHIRRoutesTests.observation(patient: "Patient/\(durand)", value: 80).replacingOccurrences(
                    of: #""status": "final","#, with: #""status": "final", "effectivePeriod": {"start": "2023-03-01", "end": "2023-03-02"},"#))
            _ = try await FHIRRoutesTests.create(server, "Observation", FHIRRoutesTests.observation(patient: "Patient/\(dupont)"))
            let all = try await server.send(.get, "/fhir/Patient/\(durand)/$everything")
            #expect(all.status == .ok && all.json["total"] == 4, "\(all.body)")
            let entries = all.json["entry"]?.arrayValue ?? []
            #expect(Set(entries.filter { $0["search"]?["mode"]?.stringValue == "match" }.compactMap { $0["resource"]?["id"]?.stringValue }) == [durand, first, second])
            #expect(entries.filter { $0["search"]?["mode"]?.stringValue == "include" }.compactMap { $0["resource"]?["id"]?.stringValue } == [practitioner])
            #expect(Self.ids(try await server.send(.get, "/fhir/Patient/\(durand)/$everything?_type=Observation")).sorted() == [first, second].sorted())
            #expect(Self.ids(try await server.send(.get, "/fhir/Patient/\(durand)/$everything?_since=2999-01-01T00:00:00Z")).isEmpty)
            // start and end (care dates): a dated resource outside them is left out, with what only it refers to.
            let everythingCases: [(String, Set<String>)] = [
                ("start=2021", [durand, second]),
                ("end=2021", [durand, first, practitioner]),
                ("start=2020-06&end=2020-06", [durand, first, practitioner]),
                ("start=2023-03-02&end=2024", [durand, second]),
                ("start=2024", [durand]),
            ]
            for (query, expected) in everythingCases {
                let reply = try await server.send(.get, "/fhir/Patient/\(durand)/$everything?\(query)")
                #expect(Set(Self.ids(reply)) == expected && reply.json["total"] == JSON(expected.count), "\(query): \(reply.body)")
            }
            var walked: [String] = []
            var url: String? = "/fhir/Patient/\(durand)/$everything?_count=1"
            while let next = url, walked.count < 10 {
                let reply = try await server.send(.get, next)
                walked += Self.ids(reply)
                url = reply.json["link"]?.arrayValue?.first { $0["relation"]?.stringValue == "next" }?["url"]?.stringValue.map { String($0.dropFirst("http://localhost".count)) }
            }
            #expect(Set(walked) == [durand, first, second, practitioner] && walked.count == 4, "\(walked)")
            #expect(try await server.send(.get, "/fhir/Patient/nobody/$everything").status == .notFound)
            #expect(try await server.send(.get, "/fhir/Observation/\(first)/$everything").status == .notFound)
            for bad in ["start=2020-13", "end=soon", "start=2025&end=2020", "_type=Nonsense", "_since=yesterday", "_count=0", "_count=many", "_sort=date"] {
                let reply = try await server.send(.get, "/fhir/Patient/\(durand)/$everything?\(bad)")
                #expect(reply.status == .badRequest && reply.json["resourceType"]?.stringValue == "OperationOutcome", "\(bad): \(reply.status)")
            }
            for bad in ["_revinclude=Observation", "_include=Observation", "_sort=-", "_elements="] {
                #expect(try await server.send(.get, "/fhir/Observation?\(bad)").status == (bad == "_elements=" ? .ok : .badRequest), "\(bad)")
            }
        }
    }
    /// The parameters of every resource (R4 search §Parameters for all
    /// resources): `_profile` (uri), `_tag` and `_security` (tokens), `_source` (uri).
    @Test(arguments: TestEngine.available)
    func parametersForAllResources(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let tagged = #"""
                {"resourceType": "Patient", "meta": {"profile": ["http://example.org/StructureDefinition/p"], "source": "http://example.org/ehr",
                 "tag": [{"system": "http://example.org/tags", "code": "vip"}], "security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}]}}
                """#
            let id = try await FHIRRoutesTests.create(server, "Patient", tagged)
            _ = try await FHIRRoutesTests.create(server, "Patient", FHIRRoutesTests.patient)
            for query in ["_profile=http://example.org/StructureDefinition/p", "_tag=http://example.org/tags%7Cvip", "_tag=vip", "_security=R",
                "_source=http://example.org/ehr"] {
                #expect(Self.ids(try await server.send(.get, "/fhir/Patient?\(query)")) == [id], "\(query)")
            }
            #expect(Self.ids(try await server.send(.get, "/fhir/Patient?_tag=other")).isEmpty)
        }
    }
    /// `_elements` and `_summary=text|data|false|true` (R4 search §Summary and
    /// elements): what each resource keeps, tagged SUBSETTED when cut down;
    /// a wrong `_summary` is 400 when strict.
    @Test(arguments: TestEngine.available)
    func elementsAndSummaries(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let narrated = #"""
                {"resourceType": "Patient", "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Anne</div>"},
                 "gender": "female", "birthDate": "1970-01-01", "name": [{"family": "Dupont"}], "deceasedBoolean": false,
                 "maritalStatus": {"text": "married"}}
                """#
            let id = try await FHIRRoutesTests.create(server, "Patient", narrated)
            func resource(_ query: String) async throws -> JSON {
                let reply = try await server.send(.get, "/fhir/Patient?_id=\(id)&\(query)")
                #expect(reply.status == .ok, "\(query): \(reply.body)")
                return reply.json["entry"]?.arrayValue?.first?["resource"] ?? .null
            }
            func keys(_ json: JSON) -> Set<String> { Set(json.objectValue?.members.map(\.key) ?? []) }
            func subsetted(_ json: JSON) -> Bool { json["meta"]?["tag"]?.arrayValue?.contains { $0["code"]?.stringValue == "SUBSETTED" } == true }
            let elements = try await resource("_elements=gender,birthDate")
            #expect(keys(elements) == ["resourceType", "id", "meta", "gender", "birthDate"] && subsetted(elements), "\(elements)")
            let text = try await resource("_summary=text")
            #expect(keys(text) == ["resourceType", "id", "meta", "text"] && subsetted(text))
            let data = try await resource("_summary=data")
            #expect(!keys(data).contains("text") && keys(data).contains("name") && subsetted(data))
            let whole = try await resource("_summary=false")
            #expect(keys(whole).contains("text") && !subsetted(whole))
            // _summary=true: the elements R4 marks isSummary (a choice by its element's name), not the narrative nor maritalStatus.
            let summary = try await resource("_summary=true")
            #expect(keys(summary) == ["resourceType", "id", "meta", "gender", "birthDate", "name", "deceasedBoolean"] && subsetted(summary), "\(summary)")
            #expect(try await server.send(.get, "/fhir/Patient?_summary=maybe", headers: ["Prefer": "handling=strict"]).status == .badRequest)
        }
    }

    /// System-level search (R4 search §Search at system level: `_type`, the
    /// parameters every searched type has; POST /fhir/_search the same).
    @Test(arguments: TestEngine.available)
    func searchAcrossTypes(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let (dupont, durand, martin) = try await Self.seed(server)
            let pressure = try await FHIRRoutesTests.create(server, "Observation", FHIRRoutesTests.observation(patient: "Patient/\(durand)"))
            let cases: [(String, Set<String>)] = [
                ("_type=Patient,Observation", [dupont, durand, martin, pressure]),
                ("_type=Patient,Observation&_id=\(pressure),\(dupont)", [dupont, pressure]),
                ("_id=\(pressure)", [pressure]),
                ("_type=Observation,Condition&code=http://loinc.org%7C8480-6", [pressure]),
                ("_type=Patient&gender=male", [durand]),
                ("_type=Patient,Observation&_lastUpdated=lt2000", []),
            ]
            for (query, expected) in cases {
                let reply = try await server.send(.get, "/fhir?\(query)")
                #expect(reply.status == .ok, "\(query): \(reply.body)")
                #expect(Set(Self.ids(reply)) == expected, "\(query)")
                #expect(reply.json["total"] == JSON(expected.count), "\(query)")
            }
            // A parameter one of the types lacks is left out (and out of the self link), or refused when strict.
            let mixed = try await server.send(.get, "/fhir?_type=Patient,Observation&gender=male")
            #expect(Set(Self.ids(mixed)) == [dupont, durand, martin, pressure])
            let link = mixed.json["link"]?.arrayValue?.first { $0["relation"]?.stringValue == "self" }?["url"]?.stringValue ?? ""
            #expect(link.contains("/fhir?_type=Patient%2CObservation") && !link.contains("gender"), "\(link)")
            let strict = try await server.send(.get, "/fhir?_type=Patient,Observation&gender=male", headers: ["Prefer": "handling=strict"])
            #expect(strict.status == .badRequest && strict.body.contains("gender"))
            #expect(try await server.send(.get, "/fhir?_type=Nonsense").status == .badRequest)
            let posted = try await server.send(
                .post, "/fhir/_search", headers: ["Content-Type": "application/x-www-form-urlencoded"], body: "_type=Patient&gender=male")
            #expect(posted.status == .ok && Self.ids(posted) == [durand])
        }
    }

    /// An administrator's explain of a search (`GET /admin/fhir/explain/{type}?…`):
    /// the parameters applied and left out, each statement's SQL with its bound
    /// values and the database's plan, which uses the index; the statement
    /// run finds what the search finds. Users without the admin role: 403.
    @Test(arguments: TestEngine.available)
    func explainedSearches(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let (_, durand, _) = try await Self.seed(server)
            let reply = try await server.send(.get, "/admin/fhir/explain/Patient?gender=male&birthdate=ge1980&colour=blue&_sort=-birthdate")
            #expect(reply.status == .ok, "\(reply.body)")
            #expect(reply.json["applied"] == ["gender=male", "birthdate=ge1980", "_sort=-birthdate"] && reply.json["ignored"] == ["colour"])
            let page = try #require(reply.json["page"])
            #expect(page["sql"]?.stringValue?.hasPrefix("SELECT ") == true && page["parameters"]?.arrayValue?.contains("male") == true)
            let plan = page["database_plan"]?.arrayValue?.compactMap(\.stringValue).joined(separator: "\n") ?? ""
            #expect(plan.contains("fhir_token_") || plan.contains("fhir_resource_"), "the plan uses one of the search indexes: \(plan)")
            #expect(reply.json["count"]?["sql"]?.stringValue?.hasPrefix("SELECT COUNT(*)") == true)
            #expect(Self.ids(try await server.send(.get, "/fhir/Patient?gender=male&birthdate=ge1980")) == [durand])
            #expect(try await server.send(.get, "/admin/fhir/explain/Patient?gender=male", as: TestServer.clinician).status == .forbidden)
            #expect(try await server.send(.get, "/admin/fhir/explain/Patient?birthdate=soon").status == .badRequest)
            #expect(try await server.send(.get, "/admin/fhir/explain/Nothing").status == .notFound)
        }
    }

    /// While the search index is rebuilt (after an upgrade, `socle reindex`),
    /// a search, a conditional create and `$everything` answer 503 with
    /// `Retry-After` and an OperationOutcome rather than what was indexed so
    /// far; a read by id does not need the index and answers.
    @Test(arguments: TestEngine.available)
    func searchesWaitForTheIndex(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let (dupont, _, _) = try await Self.seed(server)
            try await server.database.database.transaction([SQLStatement("UPDATE projection SET state = 'stale' WHERE name = 'fhir_search'")])
            let search = try await server.send(.get, "/fhir/Patient?gender=female")
            #expect(search.status == .serviceUnavailable && search.headers[.retryAfter] != nil, "\(search.body)")
            #expect(search.json["resourceType"] == "OperationOutcome" && search.body.contains("rebuilt"))
            let conditional = try await server.send(
                .post, "/fhir/Patient", headers: Self.json.merging(["If-None-Exist": "identifier=1"]) { $1 }, body: Self.patient("Dup", gender: "female", birthDate: "1970-05-02", identifier: "1"))
            #expect(conditional.status == .serviceUnavailable, "\(conditional.body)")
            #expect(try await server.send(.get, "/fhir/Patient/\(dupont)/$everything").status == .serviceUnavailable)
            #expect(try await server.send(.get, "/fhir/Patient/\(dupont)").status == .ok)
            try await server.database.database.transaction([SQLStatement("UPDATE projection SET state = 'current' WHERE name = 'fhir_search'")])
            #expect(Set(Self.ids(try await server.send(.get, "/fhir/Patient?gender=female"))).contains(dupont))
        }
    }
}
