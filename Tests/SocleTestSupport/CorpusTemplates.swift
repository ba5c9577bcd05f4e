import Foundation
import JSONCore
import Templates

/// The valid OPTs of the corpus, parsed once per test process.
public enum CorpusTemplates {
    /// Templates no composition can satisfy: cardinality_of_section (a test
    /// template of the EHRbase suite) gives COMPOSITION.content the
    /// cardinality 1..1 while the sections it allows there require eight
    /// items in all; test_quantity_without_text requires a context of a
    /// persistent composition (category 431), which has none (RM
    /// COMPOSITION.Is_persistent_validity).
    public static let unsatisfiable: Set<String> = ["cardinality_of_section", "test_quantity_without_text"]

    /// By template id; in path order, the first file with an id wins (the corpus
    /// has a few ids twice, formatted differently), the same on every machine
    /// and the same as uploading them in that order.
    public static let byID: [String: OperationalTemplate] = {
        var result: [String: OperationalTemplate] = [:]
        for file in Corpus.files(below: Corpus.root.appendingPathComponent("openehr/templates/valid"), withExtension: "opt") {
            if let template = try? OPTParser().parse(try Data(contentsOf: file)), result[template.templateID] == nil {
                result[template.templateID] = template
            }
        }
        return result
    }()

    /// By the id of their web template's tree (`minimal` is several
    /// templates' tree), in template id order.
    public static let byTreeID: [String: [OperationalTemplate]] = {
        var result: [String: [OperationalTemplate]] = [:]
        for template in byID.values.sorted(by: { $0.templateID < $1.templateID }) {
            if let id = WebTemplate.generate(template)["tree"]?["id"]?.stringValue { result[id, default: []].append(template) }
        }
        return result
    }()

    /// The templates a FLAT composition may be written for: the one its
    /// `ctx/template_id` names when the corpus has it, else every template of
    /// its keys' tree id.
    public static func candidates(for flat: JSONObject) -> [OperationalTemplate] {
        if let id = flat["ctx/template_id"]?.stringValue, let template = byID[id] { return [template] }
        return byTreeID[treeID(of: flat)] ?? []
    }

    /// The first segment of the first key that is not a `ctx/` key.
    public static func treeID(of flat: JSONObject) -> String {
        flat.keys.first { !$0.hasPrefix("ctx/") }.flatMap { $0.split(separator: "/").first.map(String.init) } ?? ""
    }
}
