import FHIR
import Foundation
import JSONCore
import Testing

/// Index entries by parameter type (R4 §Search, "Search parameter types").
@Suite struct SearchExtractionTests {
    func entries(_ json: JSON, _ code: String) -> [SearchValue] {
        var failures: [String] = []
        let found = SearchIndexer.r4.entries(for: json, failures: &failures)
        #expect(failures.isEmpty)
        return found.filter { $0.code == code }.map(\.value)
    }

    static let patient: JSON = [
        "resourceType": "Patient", "id": "p1", "active": true, "gender": "female", "birthDate": "1974-12",
        "name": [["family": "du Marché", "given": ["Élodie", "Anne"]]],
        "identifier": [["system": "urn:oid:1.2.250.1.213.1.4.8", "value": "1740912345678"], ["value": "LOCAL-7"]],
        "telecom": [["system": "phone", "value": "+33 1 23 45 67 89"]],
        "address": [["city": "Saint-Étienne", "postalCode": "42000"]],
        "managingOrganization": ["reference": "Organization/o1"],
        "generalPractitioner": [["reference": "http://example.org/fhir/Practitioner/pr1/_history/3"]],
    ]

    @Test func stringsIgnoreCaseAndAccents() {
        let names = entries(Self.patient, "name")
        #expect(names.contains(.string(normalized: "du marche", exact: "du Marché")))
        #expect(names.contains(.string(normalized: "elodie", exact: "Élodie")))
        #expect(entries(Self.patient, "address-city") == [.string(normalized: "saint-etienne", exact: "Saint-Étienne")])
        #expect(entries(Self.patient, "family") == [.string(normalized: "du marche", exact: "du Marché")])
    }

    @Test func aSharedParameterStillRemovesDuplicates() {
        // `given` is `Patient.name.given | Practitioner.name.given`: compiled for
        // Patient it keeps one branch, and still a union (no duplicates).
        let patient: JSON = ["resourceType": "Patient", "name": [["given": ["Jim"]], ["given": ["Jim", "Peter"]]]]
        #expect(entries(patient, "given") == [string("Jim"), string("Peter")])
    }

    func string(_ text: String) -> SearchValue { .string(normalized: SearchIndexer.normalise(text), exact: text) }

    @Test func tokensCarrySystemAndCode() {
        #expect(entries(Self.patient, "identifier") == [
            .token(system: "urn:oid:1.2.250.1.213.1.4.8", code: "1740912345678", text: nil),
            // An identifier without system is indexed with none.
            .token(system: nil, code: "LOCAL-7", text: nil),
        ])
        // A code bound to a value set gets the code system of its expansion.
        #expect(entries(Self.patient, "gender") == [.token(system: "http://hl7.org/fhir/administrative-gender", code: "female", text: nil)])
        #expect(entries(Self.patient, "active") == [.token(system: nil, code: "true", text: nil)])
        #expect(entries(Self.patient, "phone") == [.token(system: "phone", code: "+33 1 23 45 67 89", text: nil)])
        let observation: JSON = [
            "resourceType": "Observation", "status": "final",
            "code": ["coding": [["system": "http://loinc.org", "code": "8480-6", "display": "Systolic"]], "text": "SBP"],
            "subject": ["reference": "Patient/p1"],
        ]
        #expect(entries(observation, "code") == [.token(system: "http://loinc.org", code: "8480-6", text: "Systolic")])
    }

    @Test func referencesRelativeAbsoluteVersionedAndContained() {
        #expect(entries(Self.patient, "organization") == [.reference(type: "Organization", id: "o1", url: nil, version: nil)])
        #expect(entries(Self.patient, "general-practitioner") == [
            .reference(type: "Practitioner", id: "pr1", url: "http://example.org/fhir/Practitioner/pr1/_history/3", version: "3")
        ])
        let withContained: JSON = [
            "resourceType": "Observation", "status": "final", "code": ["text": "x"],
            "contained": [["resourceType": "Patient", "id": "c1"]],
            "subject": ["reference": "#c1"],
        ]
        #expect(entries(withContained, "subject") == [.reference(type: "Patient", id: "c1", url: "#c1", version: nil)])
        // `patient` keeps only references that resolve to a Patient.
        #expect(entries(withContained, "patient") == [.reference(type: "Patient", id: "c1", url: "#c1", version: nil)])
        let canonical: JSON = ["resourceType": "Questionnaire", "status": "draft", "derivedFrom": ["http://example.org/Questionnaire/q|2.0"]]
        #expect(entries(canonical, "definition").isEmpty)
        let response: JSON = ["resourceType": "QuestionnaireResponse", "status": "completed", "questionnaire": "http://example.org/Questionnaire/q|2.0"]
        #expect(entries(response, "questionnaire") == [.reference(type: nil, id: nil, url: "http://example.org/Questionnaire/q", version: "2.0")])
    }

    static func micros(_ text: String) -> Int64 {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return Int64((formatter.date(from: text)!.timeIntervalSince1970 * 1_000_000).rounded())
    }

    @Test func datesAreRangesByPrecision() {
        // A birth date to the month covers the whole month.
        #expect(entries(Self.patient, "birthdate") == [
            .date(low: Self.micros("1974-12-01T00:00:00.000Z"), high: Self.micros("1974-12-31T23:59:59.999Z") + 999)
        ])
        let encounter: JSON = [
            "resourceType": "Encounter", "status": "finished", "class": ["code": "AMB"],
            "period": ["start": "2024-03-01T10:00:00+01:00"],
        ]
        // A period without an end is open.
        #expect(entries(encounter, "date") == [.date(low: Self.micros("2024-03-01T09:00:00.000Z"), high: nil)])
    }

    @Test func numbersCarryTheirPrecision() {
        let assessment: JSON = [
            "resourceType": "RiskAssessment", "status": "final", "subject": ["reference": "Patient/p1"],
            "prediction": [["probabilityDecimal": .number("0.25")]],
        ]
        let values = entries(assessment, "probability")
        #expect(values == [.number(value: Decimal(string: "0.25")!, low: Decimal(string: "0.245")!, high: Decimal(string: "0.255")!)])
    }

    @Test func quantitiesAreCanonicalisedInUCUM() {
        let observation: JSON = [
            "resourceType": "Observation", "status": "final", "code": ["text": "glucose"],
            "valueQuantity": ["value": .number("5.4"), "unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL"],
        ]
        guard case .quantity(let value, let system, let code, let unit, let canonical, let canonicalCode)? = entries(observation, "value-quantity").first
        else {
            Issue.record("no quantity entry")
            return
        }
        #expect(value == Decimal(string: "5.4"))
        #expect(system == "http://unitsofmeasure.org" && code == "mg/dL" && unit == "mg/dL")
        // 5.4 mg/dL = 54 g/m3 in base units.
        #expect(canonical == Decimal(54))
        #expect(canonicalCode == "g/m3")
    }

    @Test func urisAndComposites() {
        let valueSet: JSON = ["resourceType": "ValueSet", "status": "active", "url": "http://example.org/vs"]
        #expect(entries(valueSet, "url") == [.uri("http://example.org/vs")])
        let observation: JSON = [
            "resourceType": "Observation", "status": "final",
            "code": ["coding": [["system": "http://loinc.org", "code": "85354-9"]]],
            "component": [
                ["code": ["coding": [["system": "http://loinc.org", "code": "8480-6"]]], "valueQuantity": ["value": 120, "system": "http://unitsofmeasure.org", "code": "mm[Hg]"]],
                ["code": ["coding": [["system": "http://loinc.org", "code": "8462-4"]]], "valueQuantity": ["value": 80, "system": "http://unitsofmeasure.org", "code": "mm[Hg]"]],
            ],
        ]
        let composites = entries(observation, "component-code-value-quantity")
        #expect(composites.count == 2)
        guard case .composite(let parts)? = composites.first else { return }
        #expect(parts.first == .token(system: "http://loinc.org", code: "8480-6", text: nil))
        if case .quantity(let value, _, let code, _, _, _)? = parts.last {
            #expect(value == 120 && code == "mm[Hg]")
        } else {
            Issue.record("the second component is not a quantity")
        }
    }

    @Test func compartmentsFollowTheirDefinitions() {
        let observation: JSON = [
            "resourceType": "Observation", "status": "final", "code": ["text": "x"],
            "subject": ["reference": "Patient/p1"], "performer": [["reference": "Practitioner/pr1"]],
            "encounter": ["reference": "Encounter/e1"],
        ]
        let found = SearchIndexer.r4.compartments(of: observation).map { "\($0.compartment)/\($0.id)" }
        #expect(Set(found) == ["Patient/p1", "Practitioner/pr1", "Encounter/e1"])
        #expect(SearchIndexer.r4.compartments(of: Self.patient).map { "\($0.compartment)/\($0.id)" }.contains("Patient/p1"))
    }
}
