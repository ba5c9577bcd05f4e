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

    /// Every ASCII character (but NUL, which the parser refuses), alone
    /// and between others, at the start and end of a string: written
    /// (escaped where RFC 8259 §7 requires it) and read back the same; what
    /// needs no escape is written as it is.
    @Test func everyASCIICharacterRoundTrips() throws {
        #expect(JSONSerializer.string(.string("\u{0}")) == #""\u0000""#)
        for code in UInt8(1)...UInt8(0x7F) {
            let character = String(decoding: [code], as: UTF8.self)
            for text in [character, "a" + character, character + "é", "ab" + character + "cd" + character, ""] {
                let written = JSONSerializer.string(.string(text))
                #expect(try JSONParser.parse(written) == .string(text), "\(code)")
                if code >= 0x20 && code != 0x22 && code != 0x5C { #expect(written == "\"" + text + "\"", "\(code)") }
            }
        }
        #expect(JSONSerializer.string(.string("\u{1F}x\u{7F}")) == #""\u001fx\#u{7F}""#)
    }

    @Test func refusesInvalidUTF8AfterASCII() throws {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0x61, 0x62, 0xFF, 0x63, 0x22]) }
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xE2, 0x82, 0x22]) }
        #expect(try JSONParser.parse([0x22, 0x61, 0xE2, 0x82, 0xAC, 0x22]) == .string("a€"))
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

    /// RFC 8259 §4 leaves a repeated member name to the reader; Socle refuses
    /// it, as I-JSON (RFC 7493 §2.3) and FHIR do, naming where it is.
    @Test func refusesAMemberNamedTwiceWithItsPath() {
        func error(_ text: String) -> JSONParseError? {
            do {
                _ = try JSONParser.parse(text)
                return nil
            } catch {
                return error
            }
        }
        let top = error(#"{"a": 1, "b": 2, "a": 3}"#)
        #expect(top?.path == "/a" && top?.message == #"the member name "a" appears twice in this object"# && top?.column == 18)
        let deep = error(#"{"content": [{"x": 1}, {"name": {"value": "a", "value": "b"}}]}"#)
        #expect(deep?.path == "/content/1/name/value")
        // Past sixteen members, names are checked in a set: the same answer.
        let many = "{" + (0..<40).map { #""k\#($0)": \#($0)"# }.joined(separator: ", ") + #", "k7": 0}"#
        #expect(error(many)?.path == "/k7")
        // Pointer escapes (RFC 6901): `/` as `~1`, `~` as `~0`.
        #expect(error(#"{"a/b": {"~": 1, "~": 2}}"#)?.path == "/a~1b/~0")
        #expect((try? JSONParser.parse(#"{"a": {"a": 1}, "b": [{"a": 1}, {"a": 2}]}"#)) != nil, "the same name in different objects is no repetition")
    }

    /// Errors below the top say where: the JSON Pointer of the value being read.
    @Test func errorsNameThePathOfTheValue() throws {
        do {
            _ = try JSONParser.parse(#"{"items": [1, 2, {"x": tru}]}"#)
            Issue.record("accepted")
        } catch {
            #expect(error.path == "/items/2/x")
            #expect(error.description.contains("(/items/2/x)"))
        }
    }

    /// No store keeps a NUL character as text: `\u0000` is refused where it is.
    @Test func refusesANulCharacterInAString() {
        do {
            _ = try JSONParser.parse(#"{"id": "a\u0000b"}"#)
            Issue.record("accepted")
        } catch {
            #expect(error.path == "/id" && error.message.contains("NUL") && error.column == 10)
        }
        #expect((try? JSONParser.parse(#""\u0001""#)) == .string("\u{1}"))
    }
}
