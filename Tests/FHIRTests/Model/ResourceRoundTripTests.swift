import FHIR
import Foundation
import JSONCore
import SocleTestSupport
import Testing

/// R4 §JSON Representation: every example resource of the corpus and every
/// Synthea resource parses and serialises back to the same JSON.
@Suite struct ResourceRoundTripTests {
    static func exampleFiles() throws -> [URL] {
        try Corpus.files(in: "fhir/examples/fhir-test-cases", withExtension: "json")
            + Corpus.files(in: "fhir/examples/microsoft-fhir-server", withExtension: "json")
    }

    @Test func everyCorpusExampleRoundTrips() throws {
        var failures: [String] = []
        let files = try Self.exampleFiles()
        #expect(files.count == 203)
        for file in files {
            let bytes = try Array(Data(contentsOf: file))
            let original = try JSONParser.parse(bytes)
            do {
                let resource = try FHIRResource.parse(bytes)
                let again = try JSONParser.parse(resource.serialized())
                if again != original { failures.append("\(file.lastPathComponent): serialised JSON differs") }
            } catch {
                failures.append("\(file.lastPathComponent): \(error)")
            }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }
}

/// The Synthea bundles of the corpus, decompressed with bzip2.
enum Synthea {
    static func bundles() throws -> [(name: String, bytes: [UInt8])] {
        try Corpus.files(in: "fhir/synthea", withExtension: "bz2").map { file in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["bzip2", "-dc", file.path]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (file.lastPathComponent, Array(data))
        }
    }
}

extension ResourceRoundTripTests {
    @Test func everySyntheaResourceRoundTrips() throws {
        let bundles = try Synthea.bundles()
        #expect(bundles.count == 122)
        var entries = 0
        var failures: [String] = []
        for bundle in bundles {
            let original = try JSONParser.parse(bundle.bytes)
            do {
                let resource = try FHIRResource.parse(bundle.bytes)
                entries += resource.json["entry"]?.arrayValue?.count ?? 0
                if try JSONParser.parse(resource.serialized()) != original { failures.append("\(bundle.name): serialised JSON differs") }
            } catch {
                failures.append("\(bundle.name): \(error)")
            }
        }
        #expect(entries == 92_114)
        #expect(failures.isEmpty, "\(failures.prefix(20).joined(separator: "\n"))")
    }
}

/// Parse errors name where and why (R4 §JSON Representation rules).
@Suite struct ResourceParseErrorTests {
    func issues(_ text: String) -> [FHIRIssue] {
        do {
            _ = try FHIRResource.parse(Array(text.utf8))
            return []
        } catch {
            return error.issues
        }
    }

    @Test func brokenJSONGivesLineAndColumn() {
        let found = issues("{\"resourceType\": \"Patient\",\n  \"active\": tru}")
        #expect(found.count == 1)
        #expect(found.first?.location == "line 2, column 13")
    }

    @Test func structuralProblemsAreAllListedWithTheirPaths() {
        let found = issues(#"{"resourceType":"Patient","active":"yes","name":{"family":"A"},"nickname":"x","birthDate":"1974-13-01"}"#)
        #expect(Set(found.map(\.location)) == ["Patient.active", "Patient.name", "Patient.nickname", "Patient.birthDate"])
    }

    @Test func resourceTypeMustBeKnownAndConcrete() {
        #expect(issues(#"{"id":"x"}"#).first?.message == "resourceType is missing")
        #expect(issues(#"{"resourceType":"Patients"}"#).first?.message.contains("not a resource type") == true)
        #expect(issues(#"{"resourceType":"DomainResource"}"#).first?.message.contains("not a resource type") == true)
        #expect(issues(#"[1]"#).first?.message.contains("JSON object") == true)
    }

    @Test func primitiveExtensionsAndNullsFollowTheRules() {
        // `_given` aligned with `given`, null where only the extension is.
        let valid = #"{"resourceType":"Patient","name":[{"given":["A",null],"_given":[null,{"extension":[{"url":"http://x","valueString":"y"}]}]}]}"#
        #expect(issues(valid).isEmpty)
        let nullAlone = #"{"resourceType":"Patient","name":[{"given":["A",null]}]}"#
        #expect(issues(nullAlone).map(\.location) == ["Patient.name[0].given[1]"])
        let notPrimitive = #"{"resourceType":"Patient","_name":{"id":"x"}}"#
        #expect(issues(notPrimitive).map(\.location) == ["Patient._name"])
    }

    @Test func decimalsKeepTheirText() throws {
        let resource = try FHIRResource.parse(Array(#"{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1.50}}"#.utf8))
        #expect(String(decoding: resource.serialized(), as: UTF8.self).contains(#""value":1.50"#))
    }
}
