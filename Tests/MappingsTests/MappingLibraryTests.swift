import Mappings
import Testing

/// Files read together: contexts checked against what they name, extensions
/// applied (FHIRconnect §Extension methods, §Context mappings).
@Suite struct MappingLibraryTests {
    static func model(_ name: String, archetype: String, _ body: String) -> (file: String, text: String) {
        (name + ".yml", """
            grammar: FHIRConnect/v1.0.0
            type: model
            metadata: {name: \(name), version: 1.0.0}
            spec:
              system: FHIR
              version: R4
              openEhrConfig: {archetype: \(archetype)}
              fhirConfig: {structureDefinition: "http://hl7.org/fhir/StructureDefinition/Observation"}
            mappings:
            \(body)
            """)
    }

    static let base = model("OBSERVATION.body_weight.v2", archetype: "openEHR-EHR-OBSERVATION.body_weight.v2", """
          - name: "weight"
            with: {fhir: "$resource.value", openehr: "$archetype/data[at0002]/events[at0003]/data[at0001]/items[at0004]"}
          - name: "code"
            with: {fhir: "$resource.code", openehr: "$archetype", type: "NONE"}
            followedBy:
              mappings:
                - name: "coding"
                  with: {fhir: "coding", openehr: "data[at0002]"}
          - name: "device"
            with: {fhir: "$resource", openehr: "$archetype/protocol[at0015]/items[openEHR-EHR-CLUSTER.device.v1]"}
            slotArchetype: "openEHR-EHR-CLUSTER.device.v1"
        """)

    static let device = model("CLUSTER.device.v1", archetype: "openEHR-EHR-CLUSTER.device.v1", """
          - name: "name"
            with: {fhir: "$resource.device.display", openehr: "$archetype/items[at0001]"}
        """)

    static let extensionFile: (file: String, text: String) = ("ext.yml", """
        grammar: FHIRConnect/v1.0.0
        type: extension
        metadata: {name: weight_ext, version: 1.0.0}
        spec: {system: FHIR, version: R4, extends: OBSERVATION.body_weight.v2}
        mappings:
          - name: "comment"
            extension: "add"
            with: {fhir: "$resource.note.text", openehr: "$archetype/data[at0002]/events[at0003]/data[at0001]/items[at0024]"}
          - name: "coding"
            extension: "overwrite"
            with: {fhir: "coding", openehr: "data[at0002]/items[at0004]"}
          - name: "codeText"
            extension: "append"
            appendTo: "code"
            followedBy:
              mappings:
                - name: "text"
                  with: {fhir: "text", openehr: "data[at0002]/items[at0005]"}
        """)

    static func context(extensions: [String] = ["weight_ext"], start: String = "OBSERVATION.body_weight.v2") -> (file: String, text: String) {
        ("weight.context.yml", """
            grammar: FHIRConnect/v1.0.0
            type: context
            metadata: {name: weight, version: 1.0.0}
            spec: {system: FHIR, version: R4}
            context:
              profile: {url: "http://hl7.org/fhir/StructureDefinition/bodyweight"}
              template: {id: "Body weight"}
              archetypes: ["OBSERVATION.body_weight.v2"]
              extensions: [\(extensions.map { "\"\($0)\"" }.joined(separator: ", "))]
              start: "\(start)"
            """)
    }

    @Test func aContextRunsItsModelsAsExtended() throws {
        let library = MappingLibrary(files: [Self.base, Self.device, Self.extensionFile, Self.context()])
        #expect(library.files.allSatisfy { $0.loaded }, "\(library.files.flatMap(\.problems))")
        let context = try #require(library.contexts(profile: "http://hl7.org/fhir/StructureDefinition/bodyweight").first)
        let weight = context.start
        #expect(weight.methods.map(\.name) == ["weight", "code", "device", "comment"])
        let code = weight.methods[1]
        #expect(code.followedBy.map(\.name) == ["coding", "text"])
        #expect(code.followedBy[0].openEHR?.text == "data[at0002]/items[at0004]")
        // The slot names the device mapping by its archetype id; the context reaches it.
        #expect(context.model(for: "openEHR-EHR-CLUSTER.device.v1")?.header.name == "CLUSTER.device.v1")
        // The library keeps the model as written.
        #expect(library.models["OBSERVATION.body_weight.v2"]?.methods.count == 3)
    }

    @Test func aContextNamingWhatIsNotThereIsRefused() {
        let library = MappingLibrary(files: [Self.base, Self.extensionFile, Self.context(extensions: ["weight_ext", "missing_ext"], start: "nowhere")])
        let problems = library.files.first { $0.file == "weight.context.yml" }?.problems ?? []
        #expect(library.contexts.isEmpty)
        #expect(problems.contains { $0.reason.contains("extension mapping 'missing_ext', which is not loaded") })
        #expect(problems.contains { $0.reason.contains("starts at 'nowhere'") })
        // The device mapping is absent: the slot is reported at the method's line in the model's file.
        #expect(problems.contains { $0.file == "OBSERVATION.body_weight.v2.yml" && $0.line == 18 && $0.reason.contains("'openEHR-EHR-CLUSTER.device.v1'") })
    }

    @Test func anExtensionChangingWhatIsNotThereIsRefused() {
        let broken: (file: String, text: String) = ("ext.yml", Self.extensionFile.text.replacingOccurrences(of: "appendTo: \"code\"", with: "appendTo: \"code.nothing\""))
        let library = MappingLibrary(files: [Self.base, Self.device, broken, Self.context()])
        #expect(library.contexts.isEmpty)
        let problems = library.files.flatMap(\.problems)
        #expect(problems.contains { $0.file == "ext.yml" && $0.line == 12 && $0.reason.contains("appends to 'code.nothing'") }, "\(problems)")
    }

    @Test func twoFilesOfOneNameAreRefused() {
        let library = MappingLibrary(files: [Self.base, ("copy.yml", Self.base.text)])
        #expect(library.files[1].problems.first?.reason.contains("also defined by OBSERVATION.body_weight.v2.yml") == true)
        #expect(library.files[0].loaded)
    }
}
