import JSONCore
import SocleDataSet
import Testing

/// `socle seed fhir --copies N`: each copy of a Synthea patient is a new
/// patient (ids of its own, dates shifted) that still shares the hospital's
/// organisations and practitioners.
@Suite("Copies of Synthea patients")
struct SyntheaCopyTests {
    static let bundle: JSON = try! JSONParser.parse(
        #"""
        {"resourceType": "Bundle", "type": "transaction", "entry": [
          {"fullUrl": "urn:uuid:057aa36e-b892-9964-75b9-ffb46b097e34",
           "resource": {"resourceType": "Patient", "id": "057aa36e-b892-9964-75b9-ffb46b097e34", "birthDate": "2000-12-30",
             "identifier": [{"system": "https://github.com/synthetichealth/synthea", "value": "057aa36e-b892-9964-75b9-ffb46b097e34"}]},
           "request": {"method": "POST", "url": "Patient"}},
          {"fullUrl": "urn:uuid:9a1b2c3d-0000-1111-2222-333344445555",
           "resource": {"resourceType": "Observation", "id": "9a1b2c3d-0000-1111-2222-333344445555", "status": "final",
             "subject": {"reference": "urn:uuid:057aa36e-b892-9964-75b9-ffb46b097e34"},
             "performer": [{"reference": "Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999913292"}],
             "effectiveDateTime": "2020-02-27T10:00:00-05:00", "issued": "2020-02-27T10:00:00.123-05:00", "valueString": "2020-02-27 is not a date value"},
           "request": {"method": "POST", "url": "Observation"}}]}
        """#)

    @Test func copyZeroIsTheBundleItself() {
        #expect(SyntheaCopy(number: 0).copy(Self.bundle) == Self.bundle)
    }

    @Test func aCopyHasItsOwnIdsAndShiftedDates() throws {
        let copy = SyntheaCopy(number: 1).copy(Self.bundle)
        let patient = try #require(copy["entry"]?.arrayValue?.first?["resource"])
        let observation = try #require(copy["entry"]?.arrayValue?.last?["resource"])
        #expect(patient["id"]?.stringValue == "00000001-b892-9964-75b9-ffb46b097e34")
        #expect(copy["entry"]?.arrayValue?.first?["fullUrl"]?.stringValue == "urn:uuid:00000001-b892-9964-75b9-ffb46b097e34")
        #expect(patient["identifier"]?.arrayValue?.first?["value"]?.stringValue == "00000001-b892-9964-75b9-ffb46b097e34")
        #expect(observation["subject"]?["reference"]?.stringValue == "urn:uuid:00000001-b892-9964-75b9-ffb46b097e34")
        // A week later, across a month, a leap day and a year end; time and zone kept.
        #expect(patient["birthDate"]?.stringValue == "2001-01-06")
        #expect(observation["effectiveDateTime"]?.stringValue == "2020-03-05T10:00:00-05:00")
        #expect(observation["issued"]?.stringValue == "2020-03-05T10:00:00.123-05:00")
        // What is not an id of the bundle or a date is left alone: the shared practitioner, text.
        #expect(observation["performer"]?.arrayValue?.first?["reference"]?.stringValue == "Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999913292")
        #expect(observation["valueString"]?.stringValue == "2020-02-27 is not a date value")
    }

    @Test func copiesDifferFromEachOther() {
        let ids = (1...12).map { SyntheaCopy(number: $0).copy(Self.bundle)["entry"]?.arrayValue?.first?["resource"]?["id"]?.stringValue }
        #expect(Set(ids).count == 12)
        #expect(ids[11] == "0000000c-b892-9964-75b9-ffb46b097e34")
        #expect(SyntheaCopy(number: 2).copy(Self.bundle)["entry"]?.arrayValue?.first?["resource"]?["birthDate"]?.stringValue == "2001-01-13")
    }
}
