import Foundation
import HTTPTypes
import JSONCore
import SocleTestSupport
import Testing

/// Composite parameters, quantities in canonical units and the modifiers
/// of R4 search §Modifiers beyond `:missing`, `:exact`, `:contains` and
/// `:not`: `:text`, `:of-type`, `:identifier`, `:[type]`, `:below` and
/// `:above` on uris; open date intervals; on both engines.
@Suite("FHIR REST: composite parameters and modifiers")
struct FHIRSearchModifierTests {
    static func bloodPressure(patient: String, systolic: Int, diastolic: Int) -> String {
        #"""
        {"resourceType": "Observation", "status": "final",
         "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9", "display": "Blood pressure panel"}]},
         "subject": {"reference": "Patient/\#(patient)"},
         "component": [
           {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6", "display": "Systolic blood pressure"}]},
            "valueQuantity": {"value": \#(systolic), "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
           {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4", "display": "Diastolic blood pressure"}]},
            "valueQuantity": {"value": \#(diastolic), "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}]}
        """#
    }

    static func search(_ server: TestServer, _ query: String) async throws -> Set<String> {
        let reply = try await server.send(.get, "/fhir/\(query)")
        #expect(reply.status == .ok, "\(query): \(reply.status) \(reply.body)")
        return Set(FHIRSearchTests.ids(reply))
    }

    /// R4 search §composite: both components of one composite value meet
    /// their condition (a systolic over 130 is not found by the diastolic's value).
    @Test(arguments: TestEngine.available)
    func compositeValuesPairTheirComponents(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let patient = try await FHIRRoutesTests.create(server, "Patient", #"{"resourceType": "Patient"}"#)
            let high = try await FHIRRoutesTests.create(server, "Observation", Self.bloodPressure(patient: patient, systolic: 150, diastolic: 95))
            let normal = try await FHIRRoutesTests.create(server, "Observation", Self.bloodPressure(patient: patient, systolic: 118, diastolic: 76))
            let single = try await FHIRRoutesTests.create(server, "Observation", FHIRRoutesTests.observation(patient: "Patient/\(patient)", value: 140))
            let cases: [(String, Set<String>)] = [
                ("component-code-value-quantity=http://loinc.org%7C8480-6$gt130", [high]),
                ("component-code-value-quantity=http://loinc.org%7C8480-6$lt100", []),
                ("component-code-value-quantity=http://loinc.org%7C8462-4$lt100", [high, normal]),
                ("component-code-value-quantity=8480-6$118%7Chttp://unitsofmeasure.org%7Cmm[Hg]", [normal]),
                ("component-code-value-quantity=http://loinc.org%7C8480-6$gt130,http://loinc.org%7C8480-6$lt120", [high, normal]),
                ("code-value-quantity=http://loinc.org%7C8480-6$ge140", [single]),
                ("code-value-quantity=http://loinc.org%7C85354-9$ge140", []),
                ("combo-code-value-quantity=http://loinc.org%7C8480-6$gt130", [high, single]),
                ("component-code-value-quantity:missing=false", [high, normal]),
                ("component-code-value-quantity:missing=true", [single]),
            ]
            for (query, expected) in cases {
                #expect(try await Self.search(server, "Observation?\(query)") == expected, "\(query)")
            }
            // A composite value with the wrong number of parts is a 400 naming it.
            let wrong = try await server.send(.get, "/fhir/Observation?component-code-value-quantity=8480-6")
            #expect(wrong.status == .badRequest && wrong.body.contains("component-code-value-quantity"))
        }
    }

    /// R4 search §quantity: a UCUM value is compared in canonical units.
    @Test(arguments: TestEngine.available)
    func quantitiesCompareInCanonicalUnits(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let patient = try await FHIRRoutesTests.create(server, "Patient", #"{"resourceType": "Patient"}"#)
            let dose = try await FHIRRoutesTests.create(
                server, "Observation",
                #"{"resourceType": "Observation", "status": "final", "code": {"text": "dose"}, "subject": {"reference": "Patient/\#(patient)"}, "valueQuantity": {"value": 5, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}}"#)
            let cases: [(String, Set<String>)] = [
                ("value-quantity=5%7Chttp://unitsofmeasure.org%7Cmg", [dose]),
                ("value-quantity=0.005%7Chttp://unitsofmeasure.org%7Cg", [dose]),
                ("value-quantity=5000%7Chttp://unitsofmeasure.org%7Cug", [dose]),
                ("value-quantity=gt1%7Chttp://unitsofmeasure.org%7Cmg", [dose]),
                ("value-quantity=gt1%7Chttp://unitsofmeasure.org%7Cg", []),
                ("value-quantity=5%7Chttp://unitsofmeasure.org%7CmL", []),
                ("value-quantity=5%7C%7Cmg", [dose]),
            ]
            for (query, expected) in cases {
                #expect(try await Self.search(server, "Observation?\(query)") == expected, "\(query)")
            }
        }
    }

    @Test(arguments: TestEngine.available)
    func tokenReferenceAndURIModifiers(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let patient = try await FHIRRoutesTests.create(
                server, "Patient",
                #"""
                {"resourceType": "Patient", "meta": {"profile": ["http://example.org/fhir/StructureDefinition/my-patient"]},
                 "identifier": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
                                 "system": "urn:oid:1.2.250.1.71.4.2.7", "value": "X1"}]}
                """#)
            let other = try await FHIRRoutesTests.create(server, "Patient", #"{"resourceType": "Patient", "identifier": [{"value": "X1"}]}"#)
            let pressure = try await FHIRRoutesTests.create(server, "Observation", Self.bloodPressure(patient: patient, systolic: 120, diastolic: 80))
            let logical = try await FHIRRoutesTests.create(
                server, "Observation",
                #"{"resourceType": "Observation", "status": "final", "code": {"text": "Poids"}, "subject": {"identifier": {"system": "urn:oid:1.2.250.1.213.1.4.8", "value": "1234"}}}"#
            )
            let cases: [(String, Set<String>)] = [
                // R4 search §token :text: the display or text, starting with the value, case and accents folded.
                ("Observation?code:text=blood", [pressure]),
                ("Observation?code:text=BLOOD%20PRESS", [pressure]),
                ("Observation?code:text=poids", [logical]),
                ("Observation?code:text=pressure", []),
                // §token :of-type: the identifier's type, and its value.
                ("Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203%7CMR%7CX1", [patient]),
                ("Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203%7CMR%7CX2", []),
                ("Patient?identifier=X1", [patient, other]),
                // §reference :identifier: the Reference's own identifier; :[type] the target's type.
                ("Observation?subject:identifier=urn:oid:1.2.250.1.213.1.4.8%7C1234", [logical]),
                ("Observation?subject:identifier=1234", [logical]),
                ("Observation?subject:identifier=urn:oid:1.2.250.1.213.1.4.8%7C9999", []),
                ("Observation?subject:Patient=\(patient)", [pressure]),
                ("Observation?subject:Group=\(patient)", []),
                // §uri :below and :above, on _profile.
                ("Patient?_profile:below=http://example.org/fhir/StructureDefinition/", [patient]),
                ("Patient?_profile:below=http://example.org/fhir/ValueSet/", []),
                ("Patient?_profile:above=http://example.org/fhir/StructureDefinition/my-patient/v2", [patient]),
                ("Patient?_profile=http://example.org/fhir/StructureDefinition/my", []),
            ]
            for (query, expected) in cases {
                #expect(try await Self.search(server, query) == expected, "\(query)")
            }
            for query in ["Patient?identifier:of-type=MR%7CX1", "Observation?subject:Patient=Patient/1/x"] {
                #expect(try await server.send(.get, "/fhir/\(query)").status == .badRequest, "\(query)")
            }
        }
    }

    /// R4 search §date: an ongoing period (no end) reaches past any date; one with no start reaches back before any.
    @Test(arguments: TestEngine.available)
    func openPeriodsReachForever(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let patient = try await FHIRRoutesTests.create(server, "Patient", #"{"resourceType": "Patient"}"#)
            func encounter(_ period: String) -> String {
                #"{"resourceType": "Encounter", "status": "in-progress", "class": {"code": "IMP"}, "subject": {"reference": "Patient/\#(patient)"}, "period": \#(period)}"#
            }
            let ongoing = try await FHIRRoutesTests.create(server, "Encounter", encounter(#"{"start": "2024-03-01T08:00:00Z"}"#))
            let closed = try await FHIRRoutesTests.create(server, "Encounter", encounter(#"{"start": "2024-03-01T08:00:00Z", "end": "2024-03-05T08:00:00Z"}"#))
            let unstarted = try await FHIRRoutesTests.create(server, "Encounter", encounter(#"{"end": "2020-01-01"}"#))
            let cases: [(String, Set<String>)] = [
                ("date=ge2030", [ongoing]),
                ("date=gt2024-03-04", [ongoing, closed]),
                ("date=lt2000", [unstarted]),
                ("date=le2024-03-01", [unstarted]),
                ("date=le2024-03-02", [ongoing, closed, unstarted]),
                ("date=sa2023", [ongoing, closed]),
                ("date=eb2021", [unstarted]),
                ("date=ge2024-01-01&date=lt2025-01-01", [ongoing, closed]),
                ("date=2024-03", [closed]),
            ]
            for (query, expected) in cases {
                #expect(try await Self.search(server, "Encounter?\(query)") == expected, "\(query)")
            }
            // A parameter with several values (a Goal's targets): each condition met by one of them (R4 search: "AND").
            func goal(_ dues: [String]) -> String {
                let targets = dues.map { #"{"dueDate": "\#($0)"}"# }.joined(separator: ", ")
                return #"{"resourceType": "Goal", "lifecycleStatus": "active", "description": {"text": "walk"}, "subject": {"reference": "Patient/\#(patient)"}, "target": [\#(targets)]}"#
            }
            let twoTargets = try await FHIRRoutesTests.create(server, "Goal", goal(["2020-01-15", "2024-06-01"]))
            let oneTarget = try await FHIRRoutesTests.create(server, "Goal", goal(["2022-03-01"]))
            #expect(try await Self.search(server, "Goal?target-date=ge2024-01-01&target-date=lt2020-06-01") == [twoTargets])
            #expect(try await Self.search(server, "Goal?target-date=ge2021-01-01&target-date=lt2023-01-01") == [twoTargets, oneTarget])
            #expect(try await Self.search(server, "Goal?target-date=ge2025-01-01&target-date=lt2019-01-01").isEmpty)
            #expect(try await Self.search(server, "Goal?target-date=ge2021-01-01") == [twoTargets, oneTarget])
            // Sorted by date, newest first: the ongoing one leads, and pages walk on past it.
            let first = try await server.send(.get, "/fhir/Encounter?_sort=-date&_count=1")
            #expect(FHIRSearchTests.ids(first) == [ongoing])
            let next = try #require(first.json["link"]?.arrayValue?.first { $0["relation"]?.stringValue == "next" }?["url"]?.stringValue)
            let path = String(next[try #require(next.range(of: "/fhir/"))!.lowerBound...])
            #expect(FHIRSearchTests.ids(try await server.send(.get, path)) == [closed])
        }
    }

    /// R4 search §token `:in` and `:not-in`: the codes of a value set Socle
    /// holds (one stored through the API, or an R4 one it carries); 400 for one it cannot expand.
    @Test(arguments: TestEngine.available)
    func valueSetModifiers(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let (dupont, durand, martin) = try await FHIRSearchTests.seed(server)
            let unknown = try await FHIRRoutesTests.create(server, "Patient", #"{"resourceType": "Patient"}"#)
            _ = try await FHIRRoutesTests.create(
                server, "ValueSet",
                #"""
                {"resourceType": "ValueSet", "url": "http://example.org/fhir/ValueSet/male-only", "status": "active",
                 "compose": {"include": [{"system": "http://hl7.org/fhir/administrative-gender", "concept": [{"code": "male"}]}]}}
                """#)
            let cases: [(String, Set<String>)] = [
                ("gender:in=http://example.org/fhir/ValueSet/male-only", [durand]),
                ("gender:not-in=http://example.org/fhir/ValueSet/male-only", [dupont, martin, unknown]),
                ("gender:in=http://hl7.org/fhir/ValueSet/administrative-gender", [dupont, durand, martin]),
                ("gender:in=http://hl7.org/fhir/ValueSet/administrative-gender%7C4.0.1", [dupont, durand, martin]),
                ("gender:not-in=http://hl7.org/fhir/ValueSet/administrative-gender", [unknown]),
            ]
            for (query, expected) in cases {
                #expect(try await Self.search(server, "Patient?\(query)") == expected, "\(query)")
            }
            let unheld = try await server.send(.get, "/fhir/Patient?gender:in=http://example.org/fhir/ValueSet/nowhere")
            #expect(unheld.status == .badRequest && unheld.body.contains("nowhere"))
        }
    }

    /// R4 search §_list: the resources a List names as its items, of the
    /// type searched, or of any type at system level.
    @Test(arguments: TestEngine.available)
    func resourcesOfAList(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let (dupont, durand, martin) = try await FHIRSearchTests.seed(server)
            func list(_ members: [String]) -> String {
                let entries = members.map { #"{"item": {"reference": "Patient/\#($0)"}}"# }.joined(separator: ", ")
                return #"{"resourceType": "List", "status": "current", "mode": "working", "entry": [\#(entries)]}"#
            }
            let ward = try await FHIRRoutesTests.create(server, "List", list([dupont, durand]))
            let other = try await FHIRRoutesTests.create(server, "List", list([martin]))
            let cases: [(String, Set<String>)] = [
                ("Patient?_list=\(ward)", [dupont, durand]),
                ("Patient?_list=\(ward)&gender=male", [durand]),
                ("Patient?_list=\(ward),\(other)", [dupont, durand, martin]),
                ("Patient?_list=nothing", []),
                ("Observation?_list=\(ward)", []),
            ]
            for (query, expected) in cases {
                #expect(try await Self.search(server, query) == expected, "\(query)")
            }
            // At system level (R4 search §system level), the items of any type.
            let observation = try await FHIRRoutesTests.create(server, "Observation", FHIRRoutesTests.observation(patient: "Patient/\(martin)"))
            let mixed = try await FHIRRoutesTests.create(
                server, "List",
                #"{"resourceType": "List", "status": "current", "mode": "working", "entry": [{"item": {"reference": "Patient/\#(dupont)"}}, {"item": {"reference": "Observation/\#(observation)"}}]}"#)
            let system: [(String, Set<String>)] = [
                ("?_list=\(mixed)", [dupont, observation]),
                ("?_type=Patient&_list=\(mixed)", [dupont]),
                ("?_type=Observation,Patient&_list=\(mixed),\(other)", [dupont, martin, observation]),
                ("?_id=\(observation)&_list=\(mixed)", [observation]),
                ("?_id=\(durand)&_list=\(mixed)", []),
            ]
            for (query, expected) in system {
                #expect(try await Self.search(server, query) == expected, "\(query)")
            }
            let empty = try await server.send(.get, "/fhir/Patient?_list=")
            #expect(empty.status == .badRequest && empty.body.contains("_list"))
        }
    }

    /// R4 search, Location `near`: latitude|longitude|distance|unit (UCUM lengths, km by default).
    @Test(arguments: TestEngine.available)
    func locationsNearAPlace(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            func location(_ name: String, _ latitude: Double, _ longitude: Double) -> String {
                #"{"resourceType": "Location", "name": "\#(name)", "position": {"latitude": \#(latitude), "longitude": \#(longitude)}}"#
            }
            let hotelDieu = try await FHIRRoutesTests.create(server, "Location", location("Hôtel-Dieu", 48.8540, 2.3488))
            let pitie = try await FHIRRoutesTests.create(server, "Location", location("Pitié-Salpêtrière", 48.8379, 2.3646))  // 2.1 km away
            let lyon = try await FHIRRoutesTests.create(server, "Location", location("Édouard-Herriot", 45.7430, 4.8839))  // 392 km away
            _ = try await FHIRRoutesTests.create(server, "Location", #"{"resourceType": "Location", "name": "Nowhere"}"#)
            let cases: [(String, Set<String>)] = [
                ("near=48.8540%7C2.3488%7C1%7Ckm", [hotelDieu]),
                ("near=48.8540%7C2.3488%7C3", [hotelDieu, pitie]),
                ("near=48.8540%7C2.3488", [hotelDieu, pitie]),
                ("near=48.8540%7C2.3488%7C2000%7Cm", [hotelDieu]),
                ("near=48.8540%7C2.3488%7C2500%7Cm", [hotelDieu, pitie]),
                ("near=48.8540%7C2.3488%7C1%7C[mi_i]", [hotelDieu]),
                ("near=48.8540%7C2.3488%7C380%7Ckm", [hotelDieu, pitie]),
                ("near=48.8540%7C2.3488%7C410%7Ckm", [hotelDieu, pitie, lyon]),
                ("near=45.75%7C4.85%7C10%7Ckm", [lyon]),
            ]
            for (query, expected) in cases {
                #expect(try await Self.search(server, "Location?\(query)") == expected, "\(query)")
            }
            for bad in ["near=north", "near=48.85%7C2.35%7C5%7Ckg", "near=95%7C2%7C5", "near=48.85%7C2.35%7C-1"] {
                #expect(try await server.send(.get, "/fhir/Location?\(bad)").status == .badRequest, "\(bad)")
            }
        }
    }

    /// R4 search §token `:below` and `:above`: the code and those under
    /// (over) it in a code system Socle holds; 400 for one it does not hold.
    @Test(arguments: TestEngine.available)
    func codesBelowAndAbove(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let system = "http://example.org/fhir/CodeSystem/services"
            _ = try await FHIRRoutesTests.create(
                server, "CodeSystem",
                #"""
                {"resourceType": "CodeSystem", "url": "\#(system)", "status": "active", "content": "complete", "hierarchyMeaning": "is-a",
                 "concept": [{"code": "hospital", "concept": [
                   {"code": "medicine", "concept": [{"code": "cardiology"}, {"code": "pneumology"}]}, {"code": "surgery"}]}]}
                """#)
            let patient = try await FHIRRoutesTests.create(server, "Patient", #"{"resourceType": "Patient"}"#)
            func observation(_ code: String) async throws -> String {
                try await FHIRRoutesTests.create(
                    server, "Observation",
                    #"{"resourceType": "Observation", "status": "final", "code": {"coding": [{"system": "\#(system)", "code": "\#(code)"}]}, "subject": {"reference": "Patient/\#(patient)"}}"#)
            }
            let (cardiology, medicine, surgery) = (try await observation("cardiology"), try await observation("medicine"), try await observation("surgery"))
            let cases: [(String, Set<String>)] = [
                ("code:below=\(system)%7Cmedicine", [cardiology, medicine]),
                ("code:below=\(system)%7Chospital", [cardiology, medicine, surgery]),
                ("code:below=\(system)%7Cpneumology", []),
                ("code:above=\(system)%7Ccardiology", [cardiology, medicine]),
                ("code:above=\(system)%7Csurgery", [surgery]),
                ("code:below=\(system)%7Csurgery,\(system)%7Ccardiology", [cardiology, surgery]),
            ]
            for (query, expected) in cases {
                #expect(try await Self.search(server, "Observation?\(query)") == expected, "\(query)")
            }
            for bad in ["code:below=http://loinc.org%7C8480-6", "code:below=medicine", "code:above=\(system)%7Cunknown"] {
                #expect(try await server.send(.get, "/fhir/Observation?\(bad)").status == .badRequest, "\(bad)")
            }
        }
    }

    /// R4 search §reference: a reference to a version (`Type/id/_history/v`)
    /// is found by the resource and by that version, not by another; a
    /// canonical's `url|version` likewise; a reference to a contained
    /// resource (`#id`) is not a reference to the server's resource of that id,
    /// for a search, a chain or `_has`.
    @Test(arguments: TestEngine.available)
    func versionedCanonicalAndContainedReferences(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let patient = #"{"resourceType": "Patient", "id": "p1", "name": [{"family": "Versioned"}]}"#
            #expect(try await server.send(.put, "/fhir/Patient/p1", headers: FHIRSearchTests.json, body: patient).status == .created)
            #expect(try await server.send(.put, "/fhir/Patient/c1", headers: FHIRSearchTests.json, body: patient.replacingOccurrences(of: "p1", with: "c1")).status == .created)
            func observation(_ subject: String, contained: String = "") async throws -> String {
                try await FHIRRoutesTests.create(
                    server, "Observation",
                    #"{"resourceType": "Observation", "status": "final", \#(contained)"code": {"text": "weight"}, "subject": {"reference": "\#(subject)"}}"#)
            }
            let versioned = try await observation("Patient/p1/_history/1")
            let plain = try await observation("Patient/p1")
            let local = try await observation("#c1", contained: #""contained": [{"resourceType": "Patient", "id": "c1", "name": [{"family": "Inside"}]}], "#)
            func response(_ canonical: String) async throws -> String {
                try await FHIRRoutesTests.create(
                    server, "QuestionnaireResponse", #"{"resourceType": "QuestionnaireResponse", "status": "completed", "questionnaire": "\#(canonical)"}"#)
            }
            let url = "http://example.org/fhir/Questionnaire/intake"
            let (second, unversioned) = (try await response(url + "|2.0"), try await response(url))
            let cases: [(String, Set<String>)] = [
                ("Observation?subject=Patient/p1", [versioned, plain]),
                ("Observation?subject=p1", [versioned, plain]),
                ("Observation?subject=Patient/p1/_history/1", [versioned]),
                ("Observation?subject=Patient/p1/_history/2", []),
                ("Observation?subject=Patient/c1", []),
                ("Observation?subject=c1", []),
                ("Observation?subject:Patient.name=inside", []),
                ("Observation?subject:Patient.name=versioned", [versioned, plain]),
                ("Observation?subject:missing=false", [versioned, plain, local]),
                ("Patient?_has:Observation:subject:code:text=weight", ["p1"]),
                ("QuestionnaireResponse?questionnaire=\(url)", [second, unversioned]),
                ("QuestionnaireResponse?questionnaire=\(url)%7C2.0", [second]),
                ("QuestionnaireResponse?questionnaire=\(url)%7C1.0", []),
            ]
            for (query, expected) in cases {
                #expect(try await Self.search(server, query) == expected, "\(query)")
            }
        }
    }
}
