import JSONCore
import Testing

@Suite("JSON parser and serializer (RFC 8259)")
struct JSONParserTests {
    @Test func keepsMemberOrderAndNumberText() throws {
        let text = #"{"z":1.50,"a":[true,false,null],"m":{"k":"v"},"e":-0.5e+10}"#
        let value = try JSONParser.parse(text)
        #expect(value.objectValue?.keys == ["z", "a", "m", "e"])
        #expect(value["z"] == .number("1.50"))
        #expect(value["e"] == .number("-0.5e+10"))
        #expect(JSONSerializer.string(value) == text)
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let value = try JSONParser.parse(#"["a\"b\\c\/d\n\t\u00e9\ud83d\ude00"]"#)
        #expect(value.arrayValue?.first == .string("a\"b\\c/d\n\té😀"))
    }

    @Test func serializerEscapesControlCharacters() {
        #expect(JSONSerializer.string(.string("a\u{01}\"\n")) == #""a\u0001\"\n""#)
    }

    @Test func roundTripsUnicodeUnchanged() throws {
        let text = #"{"nom":"Hôpital Européen Georges-Pompidou","日本":"語"}"#
        #expect(JSONSerializer.string(try JSONParser.parse(text)) == text)
    }

    @Test(arguments: [
        ("{\"a\":1,}", 1, 8, "a member name in double quotes was expected"),
        ("{\n  \"a\" 1\n}", 2, 7, "':' expected"),
        ("[1, 2", 1, 6, "unexpected end of document"),
        ("01", 1, 1, "leading zero"),
        ("\"abc", 1, 1, "unterminated string"),
        ("tru", 1, 1, "invalid literal"),
        ("{} x", 1, 4, "after the end of the document"),
        ("\"\\x\"", 1, 2, "invalid escape"),
        ("[1.]", 1, 4, "a digit was expected after '.'"),
        ("\"\\ud800\"", 1, 8, "unpaired UTF-16 surrogate"),
        ("\"a\u{01}\"", 1, 3, "control character"),
    ])
    func reportsWhereAndWhy(text: String, line: Int, column: Int, message: String) {
        do {
            _ = try JSONParser.parse(text)
            Issue.record("\(text) parsed")
        } catch {
            #expect(error.line == line, "\(text)")
            #expect(error.column == column, "\(text)")
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test func refusesInvalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }
    }

    @Test func refusesExcessiveNesting() {
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect((try? JSONParser.parse(fine)) != nil)
    }

    @Test func objectSubscriptReplacesAndRemovesInPlace() {
        var object = JSONObject([("a", 1), ("b", 2), ("c", 3)])
        object["b"] = "x"
        object["a"] = nil
        object["d"] = true
        #expect(object.keys == ["b", "c", "d"])
        #expect(object["b"] == .string("x"))
    }
}
