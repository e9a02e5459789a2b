import Testing

@testable import TollgateJSON

@Suite struct JSONWriterTests {
    private func compact(_ text: String) throws -> String {
        String(decoding: JSONWriter.bytes(try JSONParser.parse(text)), as: UTF8.self)
    }

    private func canonical(_ text: String) throws -> String {
        String(decoding: JSONWriter.canonicalBytes(try JSONParser.parse(text)), as: UTF8.self)
    }

    @Test func writesCompactlyKeepingOrderAndLexemes() throws {
        let text = #"{ "z": 1.50, "a": [ 1e0, -0, true, null ], "m": { "y": "", "x": {} }, "e": [] }"#
        #expect(try compact(text) == #"{"z":1.50,"a":[1e0,-0,true,null],"m":{"y":"","x":{}},"e":[]}"#)
    }

    @Test func roundTripsParsedDocuments() throws {
        let text = #"{"model":"gpt-4o","messages":[{"role":"user","content":"Say \"hi\"\n"}],"temperature":0.70}"#
        #expect(try compact(text) == text)
        #expect(try JSONParser.parse(JSONWriter.bytes(JSONParser.parse(text))) == JSONParser.parse(text))
    }

    @Test func escapesOnlyQuoteBackslashAndControls() throws {
        let value: JSONValue = .string("\"\\/\u{08}\u{0C}\n\r\t\u{01}\u{1F}\u{7F}é😀")
        let written = String(decoding: JSONWriter.bytes(value), as: UTF8.self)
        #expect(written == "\"\\\"\\\\/\\b\\f\\n\\r\\t\\u0001\\u001f\u{7F}é😀\"")
        #expect(try JSONParser.parse(JSONWriter.bytes(value)) == value)
    }

    @Test func normalisesEscapesOfTheInput() throws {
        #expect(try compact(#""\u0041\/\u001F""#) == #""A/\u001f""#)
    }

    @Test func writesIntoExistingBuffer() {
        var out = Array("data: ".utf8)
        JSONWriter.write(["a": [1, "b"]], into: &out)
        #expect(String(decoding: out, as: UTF8.self) == #"data: {"a":[1,"b"]}"#)
    }

    @Test func canonicalSortsKeysByUTF8Bytes() throws {
        #expect(
            try canonical(#"{"b":1,"a":{"d":1,"c":2},"B":0,"é":1,"z":2}"#)
                == #"{"B":0,"a":{"c":2,"d":1},"b":1,"z":2,"é":1}"#
        )
        // U+FF5E sorts after U+1F600 by code unit in UTF-16 but before it by UTF-8 bytes.
        #expect(try canonical("{\"😀\":1,\"～\":2}") == "{\"～\":2,\"😀\":1}")
    }

    @Test func canonicalIgnoresMemberOrder() throws {
        let a = try JSONParser.parse(#"{"model":"m","temperature":0.5,"n":2}"#)
        let b = try JSONParser.parse(#"{"n":2.0,"temperature":5e-1,"model":"m"}"#)
        #expect(a != b)
        #expect(JSONWriter.canonicalBytes(a) == JSONWriter.canonicalBytes(b))
    }

    @Test(arguments: [
        ("1", "1"), ("1.0", "1"), ("1e0", "1"), ("10E-1", "1"), ("1.000", "1"),
        ("-0", "0"), ("-0.0", "0"), ("0e5", "0"), ("-2.50", "-2.5"), ("0.1", "0.1"),
        ("1e-7", "1e-07"), ("1.5e3", "1500"), ("9007199254740991.0", "9007199254740991"),
        ("9007199254740992.0", "9007199254740992.0"), ("1e20", "1e+20"), ("1e400", "1e400"),
        ("12345678901234567890", "12345678901234567890"), ("-7", "-7"),
    ])
    func canonicalNumbers(_ lexeme: String, _ expected: String) {
        #expect(JSONWriter.canonicalNumber(lexeme) == expected)
    }

    @Test func bigIntegersStayDistinct() {
        #expect(
            JSONWriter.canonicalNumber("12345678901234567890") != JSONWriter.canonicalNumber("12345678901234567891")
        )
    }

    @Test func canonicalKeepsArrayOrder() throws {
        #expect(try canonical("[3,1,2]") == "[3,1,2]")
    }
}
