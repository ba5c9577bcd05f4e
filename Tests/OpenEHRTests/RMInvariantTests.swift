import Foundation
import JSONCore
import OpenEHR
import SocleTestSupport
import Testing

/// RM 1.1.0 class invariants, each enforced one with a value that keeps it
/// and a value that breaks it: the first decodes, the second is refused
/// naming the invariant (docs/architecture.md §RM invariants).
@Suite("RM 1.1.0 invariants")
struct RMInvariantTests {
    struct Case: Sendable, CustomStringConvertible {
        var invariant: String
        var type: String
        var valid: String
        var invalid: String
        var description: String { invariant }
    }

    static func text(_ value: String) -> String { #"{"_type":"DV_TEXT","value":"\#(value)"}"# }
    static func coded(_ code: String, _ terminology: String = "openehr", _ value: String = "x") -> String {
        #"{"_type":"DV_CODED_TEXT","value":"\#(value)","defining_code":\#(phrase(code, terminology))}"#
    }
    static func phrase(_ code: String, _ terminology: String) -> String {
        #"{"_type":"CODE_PHRASE","terminology_id":{"_type":"TERMINOLOGY_ID","value":"\#(terminology)"},"code_string":"\#(code)"}"#
    }
    static func count(_ magnitude: Int) -> String { #"{"_type":"DV_COUNT","magnitude":\#(magnitude)}"# }
    static func proportion(_ numerator: String, _ denominator: String, type: Int, extra: String = "") -> String {
        #"{"_type":"DV_PROPORTION","numerator":\#(numerator),"denominator":\#(denominator),"type":\#(type)\#(extra)}"#
    }
    static func element(_ body: String) -> String { #"{"_type":"ELEMENT","name":\#(text("e")),"archetype_node_id":"at0001"\#(body)}"# }
    static func interval(_ body: String) -> String { #"{"_type":"DV_INTERVAL"\#(body)}"# }
    static let party = #"{"_type":"PARTY_IDENTIFIED","name":"Dr A"}"#
    static func composition(category: String = "433", body: String = "") -> String {
        #"{"_type":"COMPOSITION","name":\#(text("c")),"archetype_node_id":"openEHR-EHR-COMPOSITION.x.v1","archetype_details":{"archetype_id":{"value":"openEHR-EHR-COMPOSITION.x.v1"},"rm_version":"1.1.0"},"language":\#(phrase("en", "ISO_639-1")),"territory":\#(phrase("FR", "ISO_3166-1")),"category":\#(coded(category)),"composer":\#(party)\#(body)}"#
    }
    static func context(_ body: String = "") -> String {
        #"{"_type":"EVENT_CONTEXT","start_time":{"_type":"DV_DATE_TIME","value":"2026-01-01T10:00:00Z"},"setting":\#(coded("238"))\#(body)}"#
    }
    static func observation(_ body: String) -> String {
        #"{"_type":"OBSERVATION","name":\#(text("o")),"archetype_node_id":"openEHR-EHR-OBSERVATION.x.v1","language":\#(phrase("en", "ISO_639-1")),"encoding":\#(phrase("UTF-8", "IANA_character-sets")),"subject":{"_type":"PARTY_SELF"},"data":\#(history(""))\#(body)}"#
    }
    static func history(_ body: String, events: String = #","events":[{"_type":"POINT_EVENT","name":{"value":"e"},"archetype_node_id":"at0002","time":{"value":"2026-01-01T10:00:00Z"},"data":{"_type":"ITEM_TREE","name":{"value":"t"},"archetype_node_id":"at0003"}}]"#) -> String {
        #"{"_type":"HISTORY","name":\#(text("h")),"archetype_node_id":"at0001","origin":{"_type":"DV_DATE_TIME","value":"2026-01-01T10:00:00Z"}\#(events)\#(body)}"#
    }
    static func multimedia(_ body: String) -> String {
        #"{"_type":"DV_MULTIMEDIA","media_type":\#(phrase("image/png", "IANA_media-types")),"size":10\#(body)}"#
    }
    static func participation(_ body: String) -> String { #"{"_type":"PARTICIPATION","function":\#(text("doctor")),"performer":\#(party)\#(body)}"# }
    static func instruction(_ activities: String) -> String {
        #"{"_type":"INSTRUCTION","name":\#(text("i")),"archetype_node_id":"openEHR-EHR-INSTRUCTION.x.v1","language":\#(phrase("en", "ISO_639-1")),"encoding":\#(phrase("UTF-8", "IANA_character-sets")),"subject":{"_type":"PARTY_SELF"},"narrative":\#(text("n"))\#(activities)}"#
    }
    static let activityData = #""description":{"_type":"ITEM_TREE","name":{"value":"d"},"archetype_node_id":"at0009"},"timing":{"_type":"DV_PARSABLE","value":"R1","formalism":"timing"}"#

    static let cases: [Case] = identification + dataValues + quantities + encapsulated + structures + compositions

    static let identification: [Case] = [
        Case(invariant: "OBJECT_ID.Value_exists", type: "HIER_OBJECT_ID", valid: #"{"value":"1.2.3"}"#, invalid: #"{"value":""}"#),
        Case(invariant: "OBJECT_REF.Namespace_exists", type: "OBJECT_REF", valid: #"{"namespace":"local","type":"FOLDER","id":{"_type":"HIER_OBJECT_ID","value":"1"}}"#, invalid: #"{"namespace":"","type":"FOLDER","id":{"_type":"HIER_OBJECT_ID","value":"1"}}"#),
        Case(invariant: "OBJECT_REF.Type_exists", type: "OBJECT_REF", valid: #"{"namespace":"local","type":"FOLDER","id":{"_type":"HIER_OBJECT_ID","value":"1"}}"#, invalid: #"{"namespace":"local","type":"","id":{"_type":"HIER_OBJECT_ID","value":"1"}}"#),
        Case(invariant: "PARTY_REF.Type_validity", type: "PARTY_REF", valid: #"{"namespace":"demographic","type":"PERSON","id":{"_type":"GENERIC_ID","value":"1","scheme":"INS"}}"#, invalid: #"{"namespace":"demographic","type":"PractitionerRole","id":{"_type":"GENERIC_ID","value":"1","scheme":"INS"}}"#),
        Case(invariant: "LOCATABLE.Archetype_node_id_valid", type: "ELEMENT", valid: element(#","value":\#(text("v"))"#), invalid: #"{"_type":"ELEMENT","name":\#(text("e")),"archetype_node_id":"","value":\#(text("v"))}"#),
        Case(invariant: "LOCATABLE.Links_valid", type: "ELEMENT", valid: element(#","value":\#(text("v")),"links":[{"meaning":\#(text("m")),"type":\#(text("t")),"target":{"value":"ehr:/compositions/x"}}]"#), invalid: element(#","value":\#(text("v")),"links":[]"#)),
        Case(invariant: "ARCHETYPED.Rm_version_valid", type: "ARCHETYPED", valid: #"{"archetype_id":{"value":"openEHR-EHR-CLUSTER.x.v1"},"rm_version":"1.1.0"}"#, invalid: #"{"archetype_id":{"value":"openEHR-EHR-CLUSTER.x.v1"},"rm_version":""}"#),
        Case(invariant: "FEEDER_AUDIT_DETAILS.System_id_valid", type: "FEEDER_AUDIT_DETAILS", valid: #"{"system_id":"lab"}"#, invalid: #"{"system_id":""}"#),
        Case(invariant: "PARTY_IDENTIFIED.Basic_validity", type: "PARTY_IDENTIFIED", valid: party, invalid: #"{"_type":"PARTY_IDENTIFIED"}"#),
        Case(invariant: "PARTY_IDENTIFIED.Name_valid", type: "PARTY_IDENTIFIED", valid: party, invalid: #"{"_type":"PARTY_IDENTIFIED","name":""}"#),
        Case(invariant: "PARTY_IDENTIFIED.Identifiers_valid", type: "PARTY_IDENTIFIED", valid: #"{"_type":"PARTY_IDENTIFIED","identifiers":[{"_type":"DV_IDENTIFIER","id":"1"}]}"#, invalid: #"{"_type":"PARTY_IDENTIFIED","name":"A","identifiers":[]}"#),
        Case(invariant: "PARTY_RELATED.Relationship_valid", type: "PARTY_RELATED", valid: #"{"_type":"PARTY_RELATED","name":"B","relationship":\#(coded("10"))}"#, invalid: #"{"_type":"PARTY_RELATED","name":"B","relationship":\#(coded("10", "external"))}"#),
        Case(invariant: "PARTICIPATION.Function_valid", type: "PARTICIPATION", valid: #"{"_type":"PARTICIPATION","function":\#(coded("253")),"performer":\#(party)}"#, invalid: #"{"_type":"PARTICIPATION","function":\#(coded("999")),"performer":\#(party)}"#),
        Case(invariant: "PARTICIPATION.Mode_valid", type: "PARTICIPATION", valid: participation(#","mode":\#(coded("216"))"#), invalid: participation(#","mode":\#(coded("216", "local"))"#)),
        Case(invariant: "FOLDER.Folders_valid", type: "FOLDER", valid: #"{"_type":"FOLDER","name":\#(text("f")),"archetype_node_id":"at0001"}"#, invalid: #"{"_type":"FOLDER","name":\#(text("f")),"archetype_node_id":"at0001","folders":[]}"#),
    ]

    static let dataValues: [Case] = [
        Case(invariant: "DV_IDENTIFIER.Id_valid", type: "DV_IDENTIFIER", valid: #"{"id":"123"}"#, invalid: #"{"id":""}"#),
        Case(invariant: "DV_IDENTIFIER.Issuer_valid", type: "DV_IDENTIFIER", valid: #"{"id":"1","issuer":"ANS"}"#, invalid: #"{"id":"1","issuer":""}"#),
        Case(invariant: "DV_IDENTIFIER.Assigner_valid", type: "DV_IDENTIFIER", valid: #"{"id":"1","assigner":"CHU"}"#, invalid: #"{"id":"1","assigner":""}"#),
        Case(invariant: "DV_IDENTIFIER.Type_valid", type: "DV_IDENTIFIER", valid: #"{"id":"1","type":"INS"}"#, invalid: #"{"id":"1","type":""}"#),
        Case(invariant: "DV_TEXT.Language_valid", type: "DV_TEXT", valid: #"{"value":"a","language":\#(phrase("fr", "ISO_639-1"))}"#, invalid: #"{"value":"a","language":\#(phrase("xx", "ISO_639-1"))}"#),
        Case(invariant: "DV_TEXT.Encoding_valid", type: "DV_TEXT", valid: #"{"value":"a","encoding":\#(phrase("UTF-8", "IANA_character-sets"))}"#, invalid: #"{"value":"a","encoding":\#(phrase("KLINGON-8", "IANA_character-sets"))}"#),
        Case(invariant: "DV_TEXT.Mappings_valid", type: "DV_TEXT", valid: #"{"value":"a"}"#, invalid: #"{"value":"a","mappings":[]}"#),
        Case(invariant: "DV_TEXT.Formatting_valid", type: "DV_TEXT", valid: #"{"value":"a","formatting":"plain"}"#, invalid: #"{"value":"a","formatting":""}"#),
        Case(invariant: "TERM_MAPPING.Purpose_valid", type: "TERM_MAPPING", valid: #"{"match":"=","target":\#(phrase("1", "SNOMED-CT")),"purpose":\#(coded("669"))}"#, invalid: #"{"match":"=","target":\#(phrase("1", "SNOMED-CT")),"purpose":\#(coded("433"))}"#),
        Case(invariant: "TERM_MAPPING.Match_valid", type: "TERM_MAPPING", valid: #"{"match":">","target":\#(phrase("1", "SNOMED-CT"))}"#, invalid: #"{"match":"~","target":\#(phrase("1", "SNOMED-CT"))}"#),
        Case(invariant: "CODE_PHRASE.Code_string_valid", type: "CODE_PHRASE", valid: phrase("at0001", "local"), invalid: phrase("", "local")),
        Case(invariant: "DV_PARAGRAPH.Items_valid", type: "DV_PARAGRAPH", valid: #"{"items":[\#(text("a"))]}"#, invalid: #"{"items":[]}"#),
        Case(invariant: "DV_URI.Value_valid", type: "DV_URI", valid: #"{"value":"https://example.org/a%20b"}"#, invalid: #"{"value":"x yz"}"#),
        Case(invariant: "DV_EHR_URI.Scheme_valid", type: "DV_EHR_URI", valid: #"{"value":"ehr://socle/compositions/1"}"#, invalid: #"{"value":"http://example.org/compositions/1"}"#),
        Case(invariant: "DV_DATE.Value_valid", type: "DV_DATE", valid: #"{"value":"2024-02-29"}"#, invalid: #"{"value":"2023-02-29"}"#),
        Case(invariant: "DV_TIME.Value_valid", type: "DV_TIME", valid: #"{"value":"23:59:59"}"#, invalid: #"{"value":"10:95:00"}"#),
        Case(invariant: "DV_DATE_TIME.Value_valid", type: "DV_DATE_TIME", valid: #"{"value":"2026-01-01T24:00:00Z"}"#, invalid: #"{"value":"2026-01-01T48:00:00Z"}"#),
        Case(invariant: "DV_DURATION.Value_valid", type: "DV_DURATION", valid: #"{"value":"P1DT2H"}"#, invalid: #"{"value":"1 day"}"#),
        Case(invariant: "DV_PERIODIC_TIME_SPECIFICATION.Value_valid", type: "DV_PERIODIC_TIME_SPECIFICATION", valid: #"{"value":{"value":"[200004181100;200004181110]/(7d)@DW","formalism":"HL7:PIVL"}}"#, invalid: #"{"value":{"value":"x","formalism":"HL7:GTS"}}"#),
        Case(invariant: "DV_GENERAL_TIME_SPECIFICATION.Value_valid", type: "DV_GENERAL_TIME_SPECIFICATION", valid: #"{"value":{"value":"x","formalism":"HL7:GTS"}}"#, invalid: #"{"value":{"value":"x","formalism":"cron"}}"#),
    ]

    static let quantities: [Case] = [
        Case(invariant: "DV_ORDERED.Other_reference_ranges_validity", type: "DV_COUNT", valid: count(1), invalid: #"{"magnitude":1,"other_reference_ranges":[]}"#),
        Case(invariant: "DV_ORDERED.Normal_status_validity", type: "DV_COUNT", valid: #"{"magnitude":1,"normal_status":\#(phrase("H", "openehr_normal_statuses"))}"#, invalid: #"{"magnitude":1,"normal_status":\#(phrase("Q", "openehr_normal_statuses"))}"#),
        Case(invariant: "DV_ORDERED.Normal_range_and_status_consistency", type: "DV_COUNT", valid: #"{"magnitude":5,"normal_status":\#(phrase("N", "openehr_normal_statuses")),"normal_range":\#(interval(#","lower":\#(count(1)),"upper":\#(count(10))"#))}"#, invalid: #"{"magnitude":50,"normal_status":\#(phrase("N", "openehr_normal_statuses")),"normal_range":\#(interval(#","lower":\#(count(1)),"upper":\#(count(10))"#))}"#),
        Case(invariant: "DV_INTERVAL.Lower_unbounded", type: "DV_INTERVAL", valid: interval(#","upper":\#(count(5)),"lower_unbounded":true,"lower_included":false"#), invalid: interval(#","lower":\#(count(1)),"upper":\#(count(5)),"lower_unbounded":true"#)),
        Case(invariant: "DV_INTERVAL.Upper_unbounded", type: "DV_INTERVAL", valid: interval(#","lower":\#(count(1)),"upper_unbounded":true"#), invalid: interval(#","lower":\#(count(1)),"upper_unbounded":true,"upper_included":true"#)),
        Case(invariant: "DV_INTERVAL.Limits_consistent", type: "DV_INTERVAL", valid: interval(#","lower":\#(count(1)),"upper":\#(count(5))"#), invalid: interval(#","lower":\#(count(9)),"upper":\#(count(5))"#)),
        Case(invariant: "DV_INTERVAL.Limits_comparable", type: "DV_INTERVAL", valid: interval(#","lower":{"_type":"DV_QUANTITY","magnitude":1,"units":"kg"},"upper":{"_type":"DV_QUANTITY","magnitude":2,"units":"kg"}"#), invalid: interval(#","lower":{"_type":"DV_QUANTITY","magnitude":1,"units":"kg"},"upper":{"_type":"DV_QUANTITY","magnitude":2,"units":"cm"}"#)),
        Case(invariant: "REFERENCE_RANGE.Range_is_simple", type: "REFERENCE_RANGE", valid: #"{"meaning":\#(text("normal")),"range":\#(interval(#","lower":\#(count(1)),"upper":\#(count(5))"#))}"#, invalid: #"{"meaning":\#(text("normal")),"range":\#(interval(#","lower":{"_type":"DV_COUNT","magnitude":1,"normal_range":\#(interval(#","lower":\#(count(0)),"upper":\#(count(2))"#))},"upper":\#(count(5))"#))}"#),
        Case(invariant: "DV_QUANTIFIED.Magnitude_status_valid", type: "DV_COUNT", valid: #"{"magnitude":1,"magnitude_status":"<="}"#, invalid: #"{"magnitude":1,"magnitude_status":"about"}"#),
        Case(invariant: "DV_AMOUNT.Accuracy_is_percent_validity", type: "DV_COUNT", valid: #"{"magnitude":1,"accuracy":0,"accuracy_is_percent":false}"#, invalid: #"{"magnitude":1,"accuracy":0,"accuracy_is_percent":true}"#),
        Case(invariant: "DV_AMOUNT.Accuracy_validity", type: "DV_COUNT", valid: #"{"magnitude":1,"accuracy":5,"accuracy_is_percent":true}"#, invalid: #"{"magnitude":1,"accuracy":150,"accuracy_is_percent":true}"#),
        Case(invariant: "DV_QUANTITY.Precision_validity", type: "DV_QUANTITY", valid: #"{"magnitude":12.0,"units":"kg","precision":0}"#, invalid: #"{"magnitude":12.5,"units":"kg","precision":0}"#),
        Case(invariant: "DV_PROPORTION.Type_validity", type: "DV_PROPORTION", valid: proportion("1", "3", type: 0), invalid: proportion("1", "3", type: 7)),
        Case(invariant: "DV_PROPORTION.Is_integral_validity", type: "DV_PROPORTION", valid: proportion("1", "3", type: 0, extra: #","precision":0"#), invalid: proportion("1.5", "3", type: 0, extra: #","precision":0"#)),
        Case(invariant: "DV_PROPORTION.Fraction_validity", type: "DV_PROPORTION", valid: proportion("1", "2", type: 3), invalid: proportion("1.5", "2", type: 3)),
        Case(invariant: "DV_PROPORTION.Unitary_validity", type: "DV_PROPORTION", valid: proportion("12", "1", type: 1), invalid: proportion("12", "500", type: 1)),
        Case(invariant: "DV_PROPORTION.Percent_validity", type: "DV_PROPORTION", valid: proportion("12", "100", type: 2), invalid: proportion("12", "10", type: 2)),
        Case(invariant: "DV_PROPORTION.Valid_denominator", type: "DV_PROPORTION", valid: proportion("12", "5", type: 0), invalid: proportion("12", "0", type: 0)),
    ]

    static let encapsulated: [Case] = [
        Case(invariant: "DV_ENCAPSULATED.Language_valid", type: "DV_PARSABLE", valid: #"{"value":"x","formalism":"txt","language":\#(phrase("fr", "ISO_639-1"))}"#, invalid: #"{"value":"x","formalism":"txt","language":\#(phrase("fr", "ISO_639-2"))}"#),
        Case(invariant: "DV_ENCAPSULATED.Charset_valid", type: "DV_PARSABLE", valid: #"{"value":"x","formalism":"txt","charset":\#(phrase("UTF-8", "IANA_character-sets"))}"#, invalid: #"{"value":"x","formalism":"txt","charset":\#(phrase("UTF-99", "IANA_character-sets"))}"#),
        Case(invariant: "DV_PARSABLE.Formalism_valid", type: "DV_PARSABLE", valid: #"{"value":"x","formalism":"txt"}"#, invalid: #"{"value":"x","formalism":""}"#),
        Case(invariant: "DV_MULTIMEDIA.Not_empty", type: "DV_MULTIMEDIA", valid: multimedia(#","uri":{"value":"https://example.org/x.png"}"#), invalid: multimedia("")),
        Case(invariant: "DV_MULTIMEDIA.Media_type_valid", type: "DV_MULTIMEDIA", valid: multimedia(#","data":"aGVsbG8=""#), invalid: #"{"_type":"DV_MULTIMEDIA","media_type":\#(phrase("image/nope", "IANA_media-types")),"size":10,"data":"aGVsbG8="}"#),
        Case(invariant: "DV_MULTIMEDIA.Compression_algorithm_validity", type: "DV_MULTIMEDIA", valid: multimedia(#","data":"aA==","compression_algorithm":\#(phrase("gzip", "openehr_compression_algorithms"))"#), invalid: multimedia(#","data":"aA==","compression_algorithm":\#(phrase("lzma9", "openehr_compression_algorithms"))"#)),
        Case(invariant: "DV_MULTIMEDIA.Integrity_check_validity", type: "DV_MULTIMEDIA", valid: multimedia(#","data":"aA==","integrity_check":"ab12","integrity_check_algorithm":\#(phrase("SHA-1", "openehr_integrity_check_algorithms"))"#), invalid: multimedia(#","data":"aA==","integrity_check":"ab12""#)),
        Case(invariant: "DV_MULTIMEDIA.Integrity_check_algorithm_validity", type: "DV_MULTIMEDIA", valid: multimedia(#","data":"aA==","integrity_check_algorithm":\#(phrase("SHA-1", "openehr_integrity_check_algorithms"))"#), invalid: multimedia(#","data":"aA==","integrity_check_algorithm":\#(phrase("CRC-9", "openehr_integrity_check_algorithms"))"#)),
        Case(invariant: "DV_MULTIMEDIA.Size_valid", type: "DV_MULTIMEDIA", valid: multimedia(#","data":"aA==""#), invalid: #"{"_type":"DV_MULTIMEDIA","media_type":\#(phrase("image/png", "IANA_media-types")),"size":-1,"data":"aA=="}"#),
    ]

    static let structures: [Case] = [
        Case(invariant: "ITEM_TABLE.Valid_structure", type: "ITEM_TABLE", valid: #"{"name":\#(text("t")),"archetype_node_id":"at0001","rows":[{"_type":"CLUSTER","name":\#(text("r")),"archetype_node_id":"at0002","items":[\#(element(#","value":\#(text("v"))"#))]}]}"#, invalid: #"{"name":\#(text("t")),"archetype_node_id":"at0001","rows":[{"_type":"CLUSTER","name":\#(text("r")),"archetype_node_id":"at0002","items":[{"_type":"CLUSTER","name":\#(text("c")),"archetype_node_id":"at0003","items":[\#(element(#","value":\#(text("v"))"#))]}]}]}"#),
        Case(invariant: "CLUSTER.Items_valid", type: "CLUSTER", valid: #"{"name":\#(text("c")),"archetype_node_id":"at0001","items":[\#(element(#","value":\#(text("v"))"#))]}"#, invalid: #"{"name":\#(text("c")),"archetype_node_id":"at0001","items":[]}"#),
        Case(invariant: "ELEMENT.Null_flavour_indicated", type: "ELEMENT", valid: element(#","null_flavour":\#(coded("271"))"#), invalid: element("")),
        Case(invariant: "ELEMENT.Null_flavour_valid", type: "ELEMENT", valid: element(#","null_flavour":\#(coded("273"))"#), invalid: element(#","null_flavour":\#(coded("433"))"#)),
        Case(invariant: "ELEMENT.Null_reason_valid", type: "ELEMENT", valid: element(#","null_flavour":\#(coded("272")),"null_reason":\#(text("masked"))"#), invalid: element(#","value":\#(text("v")),"null_reason":\#(text("why"))"#)),
        Case(invariant: "HISTORY.Events_valid", type: "HISTORY", valid: history(""), invalid: history("", events: #","events":[]"#)),
        Case(invariant: "HISTORY.Period_consistency", type: "HISTORY", valid: history(#","period":{"value":"PT30M"}"#), invalid: history(#","period":{"value":"PT7M"}"#, events: #","events":[{"_type":"POINT_EVENT","name":{"value":"e"},"archetype_node_id":"at0002","time":{"value":"2026-01-01T10:30:00Z"},"data":{"_type":"ITEM_TREE","name":{"value":"t"},"archetype_node_id":"at0003"}}]"#)),
        Case(invariant: "INTERVAL_EVENT.Math_function_validity", type: "INTERVAL_EVENT", valid: #"{"name":\#(text("e")),"archetype_node_id":"at0002","time":{"value":"2026-01-01T10:00:00Z"},"data":{"_type":"ITEM_TREE","name":{"value":"t"},"archetype_node_id":"at0003"},"width":{"value":"PT1H"},"math_function":\#(coded("146"))}"#, invalid: #"{"name":\#(text("e")),"archetype_node_id":"at0002","time":{"value":"2026-01-01T10:00:00Z"},"data":{"_type":"ITEM_TREE","name":{"value":"t"},"archetype_node_id":"at0003"},"width":{"value":"PT1H"},"math_function":\#(coded("146", "local"))}"#),
    ]

    static let compositions: [Case] = [
        Case(invariant: "COMPOSITION.Category_validity", type: "COMPOSITION", valid: composition(), invalid: composition(category: "238")),
        Case(invariant: "COMPOSITION.Is_persistent_validity", type: "COMPOSITION", valid: composition(category: "431"), invalid: composition(category: "431", body: #","context":\#(context())"#)),
        Case(invariant: "COMPOSITION.Territory_valid", type: "COMPOSITION", valid: composition(), invalid: composition().replacingOccurrences(of: #""code_string":"FR""#, with: #""code_string":"XX""#)),
        Case(invariant: "COMPOSITION.Language_valid", type: "COMPOSITION", valid: composition(), invalid: composition().replacingOccurrences(of: #""code_string":"en""#, with: #""code_string":"english""#)),
        Case(invariant: "COMPOSITION.Content_valid", type: "COMPOSITION", valid: composition(), invalid: composition(body: #","content":[]"#)),
        Case(invariant: "EVENT_CONTEXT.Setting_valid", type: "EVENT_CONTEXT", valid: context(), invalid: context().replacingOccurrences(of: #""code_string":"238""#, with: #""code_string":"433""#)),
        Case(invariant: "EVENT_CONTEXT.Participations_validity", type: "EVENT_CONTEXT", valid: context(#","participations":[\#(participation(""))]"#), invalid: context(#","participations":[]"#)),
        Case(invariant: "EVENT_CONTEXT.Location_valid", type: "EVENT_CONTEXT", valid: context(#","location":"ward 3""#), invalid: context(#","location":"""#)),
        Case(invariant: "SECTION.Items_valid", type: "SECTION", valid: #"{"name":\#(text("s")),"archetype_node_id":"openEHR-EHR-SECTION.x.v1"}"#, invalid: #"{"name":\#(text("s")),"archetype_node_id":"openEHR-EHR-SECTION.x.v1","items":[]}"#),
        Case(invariant: "ENTRY.Language_valid", type: "OBSERVATION", valid: observation(""), invalid: observation("").replacingOccurrences(of: #""code_string":"en""#, with: #""code_string":"zz""#)),
        Case(invariant: "ENTRY.Encoding_valid", type: "OBSERVATION", valid: observation(""), invalid: observation("").replacingOccurrences(of: #""code_string":"UTF-8""#, with: #""code_string":"EBCDIC-9""#)),
        Case(invariant: "ENTRY.Other_participations_valid", type: "OBSERVATION", valid: observation(#","other_participations":[\#(participation(""))]"#), invalid: observation(#","other_participations":[]"#)),
        Case(invariant: "INSTRUCTION.Activities_valid", type: "INSTRUCTION", valid: instruction(#","activities":[{"name":\#(text("a")),"archetype_node_id":"at0001",\#(activityData),"action_archetype_id":"openEHR-EHR-ACTION.x.v1"}]"#), invalid: instruction(#","activities":[]"#)),
        Case(invariant: "ACTIVITY.Action_archetype_id_valid", type: "ACTIVITY", valid: #"{"name":\#(text("a")),"archetype_node_id":"at0001",\#(activityData),"action_archetype_id":"openEHR-EHR-ACTION.x.v1"}"#, invalid: #"{"name":\#(text("a")),"archetype_node_id":"at0001",\#(activityData),"action_archetype_id":""}"#),
        Case(invariant: "ISM_TRANSITION.Current_state_valid", type: "ISM_TRANSITION", valid: #"{"current_state":\#(coded("532"))}"#, invalid: #"{"current_state":\#(coded("238"))}"#),
        Case(invariant: "ISM_TRANSITION.Transition_valid", type: "ISM_TRANSITION", valid: #"{"current_state":\#(coded("532")),"transition":\#(coded("541"))}"#, invalid: #"{"current_state":\#(coded("532")),"transition":\#(coded("532"))}"#),
        Case(invariant: "INSTRUCTION_DETAILS.Activity_path_valid", type: "INSTRUCTION_DETAILS", valid: #"{"instruction_id":{"namespace":"local","type":"INSTRUCTION","id":{"_type":"HIER_OBJECT_ID","value":"1"}},"activity_id":"activities[at0001]"}"#, invalid: #"{"instruction_id":{"namespace":"local","type":"INSTRUCTION","id":{"_type":"HIER_OBJECT_ID","value":"1"}},"activity_id":""}"#),
    ]

    @Test(arguments: cases)
    func eachInvariantKeepsTheValidAndRefusesTheInvalid(_ test: Case) throws {
        let decoder = CanonicalDecoder()
        let valid = try JSONParser.parse(test.valid)
        let invalid = try JSONParser.parse(test.invalid)
        do {
            _ = try decoder.decode(valid, as: test.type)
        } catch {
            Issue.record("\(test.invariant): the valid value is refused: \(error.problems)")
        }
        do {
            _ = try decoder.decode(invalid, as: test.type)
            Issue.record("\(test.invariant): the invalid value is accepted")
        } catch {
            #expect(error.problems.contains { $0.message.contains("(RM invariant \(test.invariant))") }, "\(test.invariant): \(error.problems)")
        }
    }

    /// Every invariant the catalog says the decoder enforces has its case, and no case names another.
    @Test func everyEnforcedInvariantIsTested() {
        let enforced = Set(RMInvariant.enforcedByDecoding.map(\.description))
        let tested = Set(Self.cases.map(\.invariant))
        #expect(enforced.subtracting(tested).isEmpty, "untested: \(enforced.subtracting(tested).sorted())")
        #expect(tested.subtracting(enforced).isEmpty, "not in the catalog: \(tested.subtracting(enforced).sorted())")
    }

    /// docs/architecture.md §RM invariants lists the whole catalog.
    @Test func theArchitectureDocumentListsEveryInvariant() throws {
        let document = try String(contentsOf: Corpus.repositoryRoot.appendingPathComponent("docs/architecture.md"), encoding: .utf8)
        let missing = RMInvariant.catalog.map(\.invariant.description).filter { !document.contains("`\($0)`") }
        #expect(missing.isEmpty, "not in docs/architecture.md: \(missing)")
    }
}
