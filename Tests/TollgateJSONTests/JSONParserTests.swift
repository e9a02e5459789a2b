import Testing

@testable import TollgateJSON

@Suite struct JSONParserTests {
    private func parse(_ text: String) throws -> JSONValue {
        try JSONParser.parse(text)
    }

    private func failure(_ bytes: [UInt8]) -> JSONParseError? {
        do {
            _ = try JSONParser.parse(bytes)
            return nil
        } catch {
            return error
        }
    }

    private func failure(_ text: String) -> JSONParseError? {
        failure(Array(text.utf8))
    }

    @Test func parsesScalars() throws {
        #expect(try parse("null") == .null)
        #expect(try parse("true") == .bool(true))
        #expect(try parse(" false ") == .bool(false))
        #expect(try parse("\"hi\"") == .string("hi"))
        #expect(try parse("-12.5e+3") == .number("-12.5e+3"))
        #expect(try parse("0") == .number("0"))
    }

    @Test func keepsMemberOrderAndNumberLexemes() throws {
        let value = try parse(#"{"b": 1.0, "a": [1e0, 10E-1, -0], "c": {"z": null, "y": true}}"#)
        let object = try #require(value.objectValue)
        #expect(object.keys == ["b", "a", "c"])
        #expect(value["b"] == .number("1.0"))
        #expect(value["a"] == .array([.number("1e0"), .number("10E-1"), .number("-0")]))
        #expect(value["c"]?.objectValue?.keys == ["z", "y"])
        #expect(value["c"]?["z"] == .null)
    }

    @Test func acceptsAllJSONWhitespaceOnly() throws {
        #expect(try parse(" \t\r\n[ 1 ,\n2 ]\r\n") == .array([.number("1"), .number("2")]))
        #expect(failure("\u{0C}1")?.code == .unexpectedCharacter)
        #expect(failure([0xC2, 0xA0, 0x31])?.code == .unexpectedCharacter)
    }

    @Test func decodesEscapes() throws {
        #expect(try parse(#""a\"b\\c\/d\b\f\n\r\t""#) == .string("a\"b\\c/d\u{08}\u{0C}\n\r\t"))
        #expect(try parse(#""\u00e9\u4E2D""#) == .string("é中"))
        #expect(try parse(#""\ud83d\ude00!""#) == .string("😀!"))
        #expect(try parse(#""\u0000""#) == .string("\u{0}"))
    }

    @Test func passesRawUTF8Through() throws {
        #expect(try parse("\"naïve 😀 中文\"") == .string("naïve 😀 中文"))
    }

    @Test func rejectsLoneSurrogates() {
        #expect(failure(#""\ud83d""#)?.code == .loneSurrogate)
        #expect(failure(#""\ud83dx""#)?.code == .loneSurrogate)
        #expect(failure(#""\ud83d\u0041""#)?.code == .loneSurrogate)
        #expect(failure(#""\ude00""#)?.code == .loneSurrogate)
    }

    @Test func rejectsBadEscapes() {
        #expect(failure(#""\x""#)?.code == .invalidEscape)
        #expect(failure(#""\u12G4""#)?.code == .invalidEscape)
        #expect(failure(#""\'""#)?.code == .invalidEscape)
    }

    @Test(
        arguments: [
            [0x22, 0xFF, 0x22],  // never valid
            [0x22, 0xC0, 0xAF, 0x22],  // overlong "/"
            [0x22, 0xE0, 0x80, 0xAF, 0x22],  // overlong three-byte form
            [0x22, 0xED, 0xA0, 0x80, 0x22],  // UTF-8 encoded surrogate
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],  // above U+10FFFF
            [0x22, 0xE4, 0xB8, 0x22],  // truncated sequence
            [0x22, 0x80, 0x22],  // stray continuation byte
        ] as [[UInt8]]
    )
    func rejectsInvalidUTF8(_ bytes: [UInt8]) {
        #expect(failure(bytes)?.code == .invalidUTF8)
    }

    @Test func rejectsControlCharactersInStrings() {
        let error = failure("\"a\nb\"")
        #expect(error?.code == .controlCharacter)
        #expect(error?.description == "unescaped control character U+000A in string at line 1, column 3")
        #expect(failure("\"\t\"")?.code == .controlCharacter)
    }

    @Test(arguments: ["01", "-", "-a", "1.", "1.e5", ".5", "1e", "1e+", "+1", "0x10", "--1"])
    func rejectsMalformedNumbers(_ text: String) {
        #expect(failure(text) != nil, "\(text) should be refused")
    }

    @Test(arguments: ["0", "-0", "1.5", "-0.0e-0", "1E+10", "123456789012345678901234567890"])
    func acceptsGrammaticalNumbers(_ text: String) throws {
        #expect(try parse(text) == .number(text))
    }

    @Test func reportsUnexpectedCharacterWithPosition() {
        let error = failure(#"{"model": "gpt",}"#)
        #expect(error?.code == .unexpectedCharacter)
        #expect(error?.offset == 16)
        #expect(error?.description == "unexpected character '}' at line 1, column 17")
    }

    @Test func countsLinesAndColumnsInScalars() {
        let error = failure("{\n  \"é\": tru }")
        #expect(error?.line == 2)
        #expect(error?.column == 11)
        #expect(error?.reason == "unexpected character ' '")
    }

    @Test(arguments: ["", "   ", "{", "[1,", #"{"a""#, #"{"a":"#, #""abc"#, "tru", #""\u12"#])
    func reportsEndOfInput(_ text: String) {
        let error = failure(text)
        #expect(error?.code == .unexpectedEndOfInput)
        #expect(error?.description == "unexpected end of input")
    }

    @Test(arguments: ["1 2", "{} x", "[]]", "nullx", "true false"])
    func rejectsTrailingGarbage(_ text: String) {
        #expect(failure(text)?.code == .unexpectedCharacter)
    }

    @Test(arguments: ["[1,]", #"{"a":1,}"#, "{a:1}", "{'a':1}", #"{"a" 1}"#, "[1 2]", "NaN", "Infinity", "nul"])
    func rejectsNonJSON(_ text: String) {
        #expect(failure(text) != nil, "\(text) should be refused")
    }

    @Test func capsNestingDepth() throws {
        let deepest =
            String(repeating: "[", count: JSONParser.maxDepth) + String(repeating: "]", count: JSONParser.maxDepth)
        #expect(try parse(deepest).arrayValue != nil)
        let tooDeep =
            String(repeating: "[", count: JSONParser.maxDepth + 1)
            + String(repeating: "]", count: JSONParser.maxDepth + 1)
        #expect(failure(tooDeep)?.code == .tooDeep)
        // A hostile body far deeper than any stack must fail cleanly, not crash.
        let hostile = String(repeating: #"{"a":"#, count: 100_000)
        #expect(failure(hostile)?.code == .tooDeep)
    }

    @Test func duplicateKeysKeepFirstPositionAndLastValue() throws {
        let value = try parse(#"{"a":1,"b":2,"a":3}"#)
        #expect(value.objectValue?.keys == ["a", "b"])
        #expect(value["a"] == .number("3"))
    }

    @Test func keysDifferingOnlyInNormalisationAreDistinct() throws {
        let value = try parse("{\"\u{E9}\":1,\"e\u{301}\":2}")
        #expect(value.objectValue?.count == 2)
        #expect(value["\u{E9}"] == .number("1"))
        #expect(value["e\u{301}"] == .number("2"))
    }

    @Test func parsesFromRawBuffer() throws {
        let bytes = Array(#"{"input":"hello"}"#.utf8)
        let value = try bytes.withUnsafeBytes { try JSONParser.parse($0) }
        #expect(value["input"]?.stringValue == "hello")
    }

    @Test func accessorsConvertNumbers() throws {
        let value = try parse(#"{"a":16,"b":16.0,"c":1.6e1,"d":0.5,"e":"x"}"#)
        #expect(value["a"]?.intValue == 16)
        #expect(value["b"]?.intValue == 16)
        #expect(value["c"]?.intValue == 16)
        #expect(value["d"]?.intValue == nil)
        #expect(value["d"]?.doubleValue == 0.5)
        #expect(value["e"]?.doubleValue == nil)
        #expect(value["e"]?.stringValue == "x")
    }
}
