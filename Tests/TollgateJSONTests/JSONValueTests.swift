import Testing

@testable import TollgateJSON

@Suite struct JSONValueTests {
    @Test func subscriptSetReplacesInPlaceOrAppends() {
        var object: JSONObject = ["a": 1, "b": 2]
        object["a"] = "x"
        object["c"] = true
        #expect(object.keys == ["a", "b", "c"])
        #expect(object["a"] == "x")
        object["b"] = nil
        #expect(object.keys == ["a", "c"])
        object["missing"] = nil
        #expect(object.count == 2)
    }

    @Test func nullIsAValueNotARemoval() {
        var object: JSONObject = ["a": 1]
        object["a"] = .null
        #expect(object.keys == ["a"])
        #expect(object["a"] == .null)
    }

    @Test func absentAndNullAreDistinct() {
        let value: JSONValue = ["a": .null]
        #expect(value["a"] != nil)
        #expect(value["a"]?.isNull == true)
        #expect(value["b"] == nil)
    }

    @Test func removeValueReturnsTheOldValue() {
        var object: JSONObject = ["a": 1, "b": 2, "c": 3]
        #expect(object.removeValue(forKey: "b") == 2)
        #expect(object.removeValue(forKey: "b") == nil)
        #expect(object.keys == ["a", "c"])
    }

    @Test func removeAllKeepsOrderOfTheRest() {
        var object: JSONObject = ["a": 1, "b": .null, "c": 3, "d": .null, "e": 5]
        object.removeAll { _, value in value.isNull }
        #expect(object.keys == ["a", "c", "e"])
        #expect(object.values == [1, 3, 5])
        object.removeAll { key, _ in key != "c" }
        #expect(object == ["c": 3])
    }

    @Test func equalityIsOrderSensitiveForObjects() {
        let ab: JSONObject = ["a": 1, "b": 2]
        let ba: JSONObject = ["b": 2, "a": 1]
        #expect(ab != ba)
        #expect(JSONWriter.canonicalBytes(.object(ab)) == JSONWriter.canonicalBytes(.object(ba)))
    }

    @Test func numbersCompareByLexemeStringsByBytes() {
        #expect(JSONValue.number("1") != .number("1.0"))
        #expect(JSONValue.string("\u{E9}") != .string("e\u{301}"))
        #expect(JSONValue.string("\u{E9}") == .string("\u{E9}"))
    }

    @Test func literalsAndDescription() {
        let value: JSONValue = ["model": "m", "n": 2, "t": 0.5, "ok": true, "none": .null, "list": [1, "x"]]
        #expect(value.description == #"{"model":"m","n":2,"t":0.5,"ok":true,"none":null,"list":[1,"x"]}"#)
    }

    @Test func accessorsReturnNilForOtherKinds() {
        let value: JSONValue = ["s": "x"]
        #expect(value["s"]?.intValue == nil)
        #expect(value["s"]?.boolValue == nil)
        #expect(value["s"]?.arrayValue == nil)
        #expect(value["s"]?.objectValue == nil)
        #expect(value["s"]?["inner"] == nil)
        #expect(value.objectValue?.count == 1)
        #expect(JSONValue.number("1e300").intValue == nil)
        #expect(JSONValue.number("-3").intValue == -3)
    }
}
