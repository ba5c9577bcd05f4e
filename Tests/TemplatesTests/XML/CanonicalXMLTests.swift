import Foundation
import JSONCore
import OpenEHR
import SocleTestSupport
import Templates
import Testing

/// Canonical XML (openEHR ITS-XML, RM Release 1.0.4 schemas) read into
/// canonical JSON and written back, over every canonical XML document of
/// the corpus.
@Suite("Canonical XML")
struct CanonicalXMLTests {
    static let folder = "openehr/compositions/canonical_xml"

    static func documents() -> [URL] {
        let root = Corpus.root.appendingPathComponent(folder)
        return Corpus.files(below: root, withExtension: "xml")
    }

    static func name(_ file: URL) -> String { file.path.components(separatedBy: "canonical_xml/").last ?? file.lastPathComponent }

    /// Corpus documents that are not valid compositions, and why.
    static let refused: [String: String] = [
        "nested.en.v1__invalid_wrong_structure.xml": "not well-formed XML",
        "persistent_minimal.en.v1__invalid_wrong_structure.xml": "not well-formed XML",
        "openEHR_SDK/test_all_types_participations_invalid.xml": "<defining_code> is not an attribute of DV_TEXT",
        "openEHR_SDK/RIPPLE_conformanceTesting_OBSERVATION.pulse.v1.xml": "language: is mandatory in OBSERVATION but missing",
        // DV_COUNT.magnitude is an Integer64 (xs:long in the schema).
        "valid_templates/alternative_types/alternative_types.composition.xml": "'456.789' is not an integer",
        "valid_templates/alternative_types/alternative_types.composition.extdatetimes.xml": "'456.789' is not an integer",
        "valid_templates/alternative_types/alternative_types.version.xml": "'456.789' is not an integer",
        "valid_templates/minimal/minimal_action_2.instance.composition.xml": "ism_transition: is mandatory in ACTION but missing",
        "valid_templates/minimal/minimal_action_2.instance.version.xml": "ism_transition: is mandatory in ACTION but missing",
        "valid_templates/minimal_persistent/persistent_minimal.composition.extdatetime.invalid.xml": "name: is mandatory in OBSERVATION",
        "valid_templates/nested/nested.composition.extdatetimes.invalid.xml": "narrative: is mandatory in INSTRUCTION",
        // RM class invariants (docs/architecture.md §RM invariants).
        "openEHR_SDK/test_all_types.fixed.v1.xml": "(RM invariant ELEMENT.Null_flavour_indicated)",
        "openEHR_SDK/test_all_types.v1.xml": "(RM invariant ELEMENT.Null_flavour_indicated)",
        "valid_templates/minimal/test.xml": "'ANY' is not a party type (ACTOR, AGENT, GROUP, ORGANISATION, PARTY, PERSON, ROLE) (RM invariant PARTY_REF.Type_validity)",
    ]

    /// The composition a document holds: itself, or the data of the
    /// ORIGINAL_VERSION it is.
    static func composition(_ data: Data) throws -> (json: JSON, composition: JSON, type: String) {
        let type = (try? XMLTree.parse(data))?.name == "version" ? "ORIGINAL_VERSION" : "COMPOSITION"
        let json = try CanonicalXML.read(data, as: type)
        let composition = try CanonicalDecoder().decode(type == "COMPOSITION" ? json : (json["data"] ?? .null), as: "COMPOSITION")
        return (json, composition, type)
    }

    @Test func everyCorpusDocumentIsReadAndWrittenBackOrRefusedForItsReason() throws {
        var read = 0
        var problems: [String] = []
        for file in Self.documents() {
            let name = Self.name(file)
            do {
                let (json, _, type) = try Self.composition(try Data(contentsOf: file))
                #expect(Self.refused[name] == nil, "\(name) was expected to be refused")
                let written = CanonicalXML.document(json, rmType: type)
                #expect(try CanonicalXML.read(Data(written.utf8), as: type) == json, "\(name): written and read again differs")
                read += 1
            } catch {
                guard let reason = Self.refused[name] else {
                    problems.append("\(name): \(error)")
                    continue
                }
                #expect(String(describing: error).contains(reason), "\(name): \(error)")
            }
        }
        #expect(problems.isEmpty, "\(problems)")
        #expect(read == 90)
        #expect(read + Self.refused.count == Self.documents().count)
    }

    /// The element names of a document in document order, with their depth.
    static func outline(_ element: Templates.XMLElement, depth: Int = 0) -> [String] {
        [String(repeating: " ", count: depth) + element.name] + element.children.flatMap { outline($0, depth: depth + 1) }
    }

    /// Documents written by the openEHR SDK and EHRbase follow the schemas'
    /// element order: Socle's writer gives the same outline, element for
    /// element. (The CaboLabs-generated documents of valid/ and
    /// valid_templates/ put archetype_details before name, diadem.xml a
    /// provider before encoding, and the Java reference implementation
    /// adds ARCHETYPE_ID's derived parts: the schemas admit none of these.)
    @Test func writtenDocumentsFollowTheSchemasElementOrder() throws {
        var compared = 0
        for file in Self.documents() {
            let name = Self.name(file)
            guard name.hasPrefix("openEHR_SDK/") || name.hasPrefix("xml_compositions/") || name.hasPrefix("ehrbase_service_samples/")
                || name.hasPrefix("nested") || name.hasPrefix("persistent"),
                name != "openEHR_SDK/diadem.xml", Self.refused[name] == nil
            else { continue }
            let data = try Data(contentsOf: file)
            let (json, _, type) = try Self.composition(data)
            let original = Self.outline(try XMLTree.parse(data))
            let written = Self.outline(try XMLTree.parse(Data(CanonicalXML.document(json, rmType: type).utf8)))
            let first = (0..<min(original.count, written.count)).first { original[$0] != written[$0] }
            #expect(original == written, "\(name) differs at element \(first ?? -1): \(original.dropFirst(first ?? 0).prefix(3)) vs \(written.dropFirst(first ?? 0).prefix(3))")
            compared += 1
        }
        #expect(compared == 29)
    }

    /// Keys sorted at every level: canonical JSON's member order is free.
    static func sortedKeys(_ json: JSON) -> JSON {
        switch json {
        case .object(let object): .object(JSONObject(object.members.map { ($0.key, sortedKeys($0.value)) }.sorted { $0.0 < $1.0 }))
        case .array(let items): .array(items.map(sortedKeys))
        default: json
        }
    }

    /// The corpus holds four compositions in both canonical forms (EHRbase
    /// integration data): the XML reads into the same RM tree as the JSON.
    /// (The nested and persistent_minimal files of the same names hold
    /// different generated values in each form.)
    @Test func xmlAndJSONFormsOfTheSameCompositionAgree() throws {
        for name in ["consult_record__", "family_history__", "family_history__with_uid", "family_history.v2__"] {
            let xml = Corpus.root.appendingPathComponent("\(Self.folder)/\(name).xml")
            let twin = Corpus.root.appendingPathComponent("openehr/compositions/canonical_json/\(name).json")
            let fromXML = try Self.composition(try Data(contentsOf: xml)).composition
            let fromJSON = try CanonicalDecoder().decode(try JSONParser.parse(Array(try Data(contentsOf: twin))), as: "COMPOSITION")
            #expect(Self.sortedKeys(fromXML) == Self.sortedKeys(fromJSON), "\(name)")
        }
    }

    static func refusal(_ xml: String, as type: String = "COMPOSITION") -> String {
        do {
            _ = try CanonicalXML.read(Data(xml.utf8), as: type)
            return "read"
        } catch {
            return error.problems.map(\.description).joined(separator: "; ")
        }
    }

    static let head = #"<composition xmlns="http://schemas.openehr.org/v1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" archetype_node_id="openEHR-EHR-COMPOSITION.x.v1">"#

    @Test func badDocumentsAreRefusedWithPathAndLine() {
        // An element the class does not have.
        #expect(Self.refusal(Self.head + "\n<name><value>x</value></name>\n<colour>red</colour></composition>")
            == "/composition/colour: line 3: <colour> is not an attribute of COMPOSITION")
        // A type that is not allowed where it stands.
        #expect(Self.refusal(Self.head + "<name xsi:type=\"DV_QUANTITY\"><magnitude>1</magnitude></name></composition>")
            == "/composition/name: line 1: xsi:type DV_QUANTITY is not allowed here, expected DV_CODED_TEXT, DV_TEXT")
        #expect(Self.refusal(Self.head + "<name xsi:type=\"NOT_A_TYPE\"/></composition>")
            == "/composition/name: line 1: xsi:type 'NOT_A_TYPE' is not an RM type")
        // PARTY_PROXY is abstract: the composer needs its xsi:type.
        #expect(Self.refusal(Self.head + "<composer><name>Dr</name></composer></composition>")
            .hasPrefix("/composition/composer: line 1: xsi:type is mandatory here"))
        // Values of the wrong kind.
        #expect(Self.refusal(Self.head + "<content xsi:type=\"OBSERVATION\" archetype_node_id=\"a\"><data archetype_node_id=\"b\"><events xsi:type=\"POINT_EVENT\" archetype_node_id=\"c\"><data xsi:type=\"ITEM_SINGLE\" archetype_node_id=\"d\"><item archetype_node_id=\"e\"><value xsi:type=\"DV_QUANTITY\"><magnitude>12,5</magnitude></value></item></data></events></data></content></composition>")
            == "/composition/content[1]/data/events[1]/data/item/value/magnitude: line 1: '12,5' is not a finite number")
        #expect(Self.refusal(Self.head + "<context><start_time><value>2020-01-01</value></start_time><setting><value>x</value><defining_code><terminology_id><value>openehr</value></terminology_id><code_string>238</code_string></defining_code></setting><health_care_facility><name>H</name></health_care_facility></context></composition>") == "read")
        #expect(Self.refusal("<ehr_status><is_queryable>yes</is_queryable></ehr_status>", as: "EHR_STATUS")
            == "/ehr_status/is_queryable: line 1: 'yes' is not an xs:boolean (true, false, 1 or 0)")
        // A single-valued attribute given twice; text beside elements.
        #expect(Self.refusal(Self.head + "<name><value>a</value></name>\n<name><value>b</value></name></composition>")
            == "/composition/name: line 2: <name> is single-valued in COMPOSITION but appears 2 times")
        #expect(Self.refusal(Self.head + "stray<name><value>a</value></name></composition>")
            == "/composition: line 1: text is not allowed beside the elements of COMPOSITION")
        #expect(Self.refusal("<composition><name>").hasPrefix("/: not well-formed XML"))
        #expect(Self.refusal("<composition archetype_node_id=\"x\"><language archetype_node_id=\"y\"/></composition>")
            == "/composition/language: line 1: archetype_node_id is not an attribute of CODE_PHRASE")
        #expect(Self.refusal("<composition archetype_node_id=\"x\" colour=\"red\"/>", as: "COMPOSITION").hasPrefix(
            "/composition: line 1: attribute 'colour' is not one canonical XML has"))
    }

    /// Nesting that no RM tree has is refused before anything walks it (a
    /// deep enough document would otherwise exhaust the stack).
    @Test func deepNestingIsRefused() {
        let open: String = "<composition archetype_node_id=\"a\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><content xsi:type=\"SECTION\" archetype_node_id=\"s\">"
        let close: String = "</content></composition>"
        let item: String = "<items xsi:type=\"SECTION\" archetype_node_id=\"s\">"
        func nested(_ depth: Int) -> String {
            var xml = open
            xml += String(repeating: item, count: depth)
            xml += String(repeating: "</items>", count: depth)
            xml += close
            return xml
        }
        #expect(Self.refusal(nested(20_000)) == "/: not well-formed XML: line 1: elements are nested deeper than 256 levels")
        // 250 levels of sections are read.
        #expect(Self.refusal(nested(250)) == "read")
    }

    @Test func textIsEscapedAndNumbersKeptAsWritten() throws {
        let xml = Self.head + """
            <name><value><![CDATA[a < b & "c"]]></value></name>
            <content xsi:type="OBSERVATION" archetype_node_id="o"><data archetype_node_id="h"><origin><value>2020-01-01T00:00:00Z</value></origin>
            <events xsi:type="POINT_EVENT" archetype_node_id="e"><time><value>2020-01-01T00:00:00Z</value></time>
            <data xsi:type="ITEM_LIST" archetype_node_id="l">
            <items archetype_node_id="q"><name><value>line 1
            line 2 &amp; &lt;3&gt;</value></name><value xsi:type="DV_QUANTITY"><magnitude>.50</magnitude><units>mm[Hg]</units><precision>+2</precision></value></items>
            <items archetype_node_id="p"><name><value>p</value></name><value xsi:type="DV_PROPORTION"><numerator>1.0E2</numerator><denominator>100</denominator><type>2</type></value></items>
            </data></events></data></content></composition>
            """
        let json = try CanonicalXML.read(Data(xml.utf8), as: "COMPOSITION")
        #expect(json["name"]?["value"] == "a < b & \"c\"")
        let items = json["content"]?.arrayValue?.first?["data"]?["events"]?.arrayValue?.first?["data"]?["items"]?.arrayValue ?? []
        #expect(items.first?["name"]?["value"] == "line 1\nline 2 & <3>")
        #expect(items.first?["value"]?["magnitude"] == .number("0.50"))
        #expect(items.first?["value"]?["precision"] == .number("2"))
        #expect(items.last?["value"]?["numerator"] == .number("1.0E2"))
        let written = CanonicalXML.document(json, rmType: "COMPOSITION")
        #expect(written.contains("<value>a &lt; b &amp; \"c\"</value>"))
        #expect(written.contains(#"<composition xmlns="http://schemas.openehr.org/v1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="COMPOSITION" archetype_node_id="openEHR-EHR-COMPOSITION.x.v1">"#))
        #expect(try CanonicalXML.read(Data(written.utf8), as: "COMPOSITION") == json)
    }

    /// Members come out in the schemas' order whatever the document's: a
    /// DV_QUANTITY written units first, a LOCATABLE with archetype_details
    /// before its name (as the CaboLabs generator writes them).
    @Test func membersAreReadInTheSchemasOrder() throws {
        let xml = #"<value xmlns="http://schemas.openehr.org/v1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="DV_QUANTITY"><units>kg</units><precision>1</precision><magnitude>72.5</magnitude></value>"#
        let quantity = try CanonicalXML.read(Data(xml.utf8), as: "DV_QUANTITY")
        #expect(quantity.objectValue?.keys == ["_type", "magnitude", "units", "precision"])
        let cluster = #"<items xmlns="http://schemas.openehr.org/v1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CLUSTER" archetype_node_id="openEHR-EHR-CLUSTER.x.v1"><archetype_details><archetype_id><value>openEHR-EHR-CLUSTER.x.v1</value></archetype_id><rm_version>1.0.4</rm_version></archetype_details><name><value>x</value></name></items>"#
        let read = try CanonicalXML.read(Data(cluster.utf8), as: "CLUSTER")
        #expect(read.objectValue?.keys == ["_type", "archetype_node_id", "name", "archetype_details"])
    }
}
