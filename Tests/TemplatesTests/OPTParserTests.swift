import Foundation
import OpenEHR
import SocleTestSupport
import Templates
import Testing

@Suite("OPT 1.4 parser")
struct OPTParserTests {
    let parser = OPTParser()

    static func opts(in folder: String) -> [URL] {
        let root = Corpus.root.appendingPathComponent(folder)
        return Corpus.files(below: root, withExtension: "opt")
    }

    @Test func everyValidCorpusTemplateParses() throws {
        let files = Self.opts(in: "openehr/templates/valid")
        #expect(files.count >= 130)
        for file in files {
            do {
                let template = try parser.parse(try Data(contentsOf: file))
                #expect(!template.templateID.isEmpty, "\(file.lastPathComponent)")
                #expect(template.definition.rmTypeName == "COMPOSITION", "\(file.lastPathComponent)")
                #expect(template.rootArchetypeID.hasPrefix("openEHR-EHR-COMPOSITION."), "\(file.lastPathComponent)")
            } catch {
                Issue.record("\(file.lastPathComponent): \(error)")
            }
        }
    }

    /// Each deliberately broken template is refused, naming what is wrong.
    @Test(arguments: [
        ("alien_tags/minimal_action.opt", "<bullfrog> is not an element of an operational template"),
        ("empty_file/empty_file.opt", "empty"),
        ("empty_file/empty_xml.opt", "not well-formed XML"),
        ("empty_file/empty_xml_template.opt", "template_id/value is mandatory"),
        ("multiple_elements/minimal_action_concept_twice_1.opt", "<concept> appears 2 times"),
        ("multiple_elements/minimal_action_concept_twice_2.opt", "<concept> appears 2 times"),
        ("multiple_elements/minimal_action_definition_twice.opt", "<definition> appears 2 times"),
        ("multiple_elements/minimal_action_template-id_twice_1.opt", "<template_id> appears 2 times"),
        ("multiple_elements/minimal_action_template-id_twice_2.opt", "<template_id> appears 2 times"),
        ("multiple_elements/minimal_action_template-id_twice_3.opt", "<template_id> appears 2 times"),
        ("removed_mandatory_elements/minimal_action_removed_concept.opt", "concept is mandatory"),
        ("removed_mandatory_elements/minimal_action_removed_concept_value.opt", "concept is mandatory"),
        ("removed_mandatory_elements/minimal_action_removed_definition.opt", "definition is mandatory"),
        ("removed_mandatory_elements/minimal_action_removed_description_and_concept.opt", "concept is mandatory"),
        ("removed_mandatory_elements/minimal_action_removed_language.opt", "language/code_string is mandatory"),
        ("removed_template_id/minimal_admin_invalid_1.opt", "template_id/value is mandatory"),
        ("removed_template_id/minimal_admin_invalid_2.opt", "template_id/value is mandatory"),
        ("removed_template_id/minimal_admin_invalid_3.opt", "template_id/value is mandatory"),
        ("removed_template_id/minimal_admin_invalid_4.opt", "template_id/value is mandatory"),
    ])
    func everyInvalidCorpusTemplateIsRefusedWithItsReason(file: String, reason: String) throws {
        let url = Corpus.root.appendingPathComponent("openehr/templates/invalid/\(file)")
        do {
            _ = try parser.parse(try Data(contentsOf: url))
            Issue.record("\(file) was accepted")
        } catch let error as TemplateError {
            #expect(error.problems.contains { $0.message.contains(reason) }, "\(error)")
            #expect(error.problems.allSatisfy { $0.path.hasPrefix("line ") })
        }
    }

    @Test func coversEveryInvalidCorpusFile() {
        #expect(Self.opts(in: "openehr/templates/invalid").count == 19)
    }

    @Test func readsConstraintsOfEveryKind() throws {
        let url = Corpus.root.appendingPathComponent("openehr/templates/valid/all_types/International_Patient_Summary.opt")
        let template = try parser.parse(try Data(contentsOf: url))
        #expect(template.templateID == "International Patient Summary")
        #expect(template.language == "en")
        var kinds: Set<String> = []
        var quantity: [QuantityItem] = []
        func walk(_ object: CObject) {
            switch object.kind {
            case .complex: kinds.insert("complex")
            case .archetypeRoot: kinds.insert("root")
            case .slot: kinds.insert("slot")
            case .internalReference: kinds.insert("ref")
            case .primitive: kinds.insert("primitive")
            case .codePhrase: kinds.insert("code")
            case .quantity(_, let items):
                kinds.insert("quantity")
                quantity += items
            case .ordinal: kinds.insert("ordinal")
            case .constraintReference: kinds.insert("constraintRef")
            }
            for attribute in object.attributes { attribute.children.forEach(walk) }
        }
        walk(template.definition)
        #expect(kinds.isSuperset(of: ["complex", "root", "slot", "primitive", "code", "quantity"]))
        #expect(quantity.contains { $0.units == "1" && $0.magnitude?.lower == 0 && $0.magnitude?.upper == nil })
        let root = template.definition
        #expect(root.terms["at0000"]?.text.isEmpty == false)
        #expect(root.attribute("category")?.existence == ConstraintInterval(lower: 1, upper: 1))
        #expect(root.attribute("content")?.isMultiple == true)
    }

    @Test func refusesUnknownRMTypesAndAttributes() throws {
        let url = Corpus.root.appendingPathComponent("openehr/templates/valid/minimal/minimal_action.opt")
        let text = try String(contentsOf: url, encoding: .utf8)
        let badType = text.replacingOccurrences(of: "<rm_type_name>ISM_TRANSITION</rm_type_name>", with: "<rm_type_name>ISM_TRANSMOGRIFIER</rm_type_name>")
        #expect(throws: TemplateError.self) { try parser.parse(Data(badType.utf8)) }
        let badAttribute = text.replacingOccurrences(of: "<rm_attribute_name>ism_transition</rm_attribute_name>", with: "<rm_attribute_name>ism_transitions</rm_attribute_name>")
        do {
            _ = try parser.parse(Data(badAttribute.utf8))
            Issue.record("accepted")
        } catch {
            #expect(error.problems.contains { $0.message.contains("'ism_transitions' is not an attribute of ACTION") }, "\(error)")
        }
    }
}
