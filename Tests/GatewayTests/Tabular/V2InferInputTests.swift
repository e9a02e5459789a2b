import Cache
import Testing

@testable import Gateway

@Suite struct V2InferInputTests {
    let served = TabularFixtures.served()

    func decode(_ json: String) throws -> V2InferInput {
        guard case .object(let object) = try JSONParser.parse(json) else { throw GatewayError.badRequest("not an object") }
        return try V2InferInput(object, forest: served, model: "toy")
    }

    func failure(_ json: String) -> GatewayError? {
        do {
            _ = try decode(json)
            return nil
        } catch let error as GatewayError {
            return error
        } catch {
            return nil
        }
    }

    @Test func oneTensorFlatOrNested() throws {
        let flat = try decode(#"{"inputs": [{"name": "input", "shape": [2, 2], "datatype": "FP64", "data": [1, 2, 3, 4]}]}"#)
        let nested = try decode(#"{"inputs": [{"name": "input", "shape": [2, 2], "datatype": "FP64", "data": [[1, 2], [3, 4]]}]}"#)
        #expect(flat.rows.count == 2)
        #expect(flat.rows.values == [1, 2, 3, 4])
        #expect(nested.rows.values == flat.rows.values)
        let single = try decode(#"{"inputs": [{"name": "input", "shape": [2], "datatype": "FP64", "data": [5, 6]}]}"#)
        #expect(single.rows.count == 1)
    }

    @Test func fp32DataIsRoundedToFloat() throws {
        let input = try decode(#"{"inputs": [{"name": "input", "shape": [1, 2], "datatype": "FP32", "data": [0.1, 0.2]}]}"#)
        #expect(input.rows.values == [Double(Float(0.1)), Double(Float(0.2))])
        let wide = try decode(#"{"inputs": [{"name": "input", "shape": [1, 2], "datatype": "FP64", "data": [0.1, 0.2]}]}"#)
        #expect(wide.rows.values == [0.1, 0.2])
    }

    @Test func oneTensorPerFeatureByName() throws {
        let input = try decode(
            #"{"inputs": [{"name": "y", "shape": [2], "datatype": "FP64", "data": [10, 20]},"#
                + #"{"name": "x", "shape": [2, 1], "datatype": "INT64", "data": [[1], [2]]}], "id": "abc","#
                + #""outputs": [{"name": "probabilities"}]}"#)
        #expect(input.rows.values == [1, 10, 2, 20])
        #expect(input.id == "abc")
        #expect(input.outputs == ["probabilities"])
    }

    @Test func shapeAndTypeErrorsSayWhatWasExpected() throws {
        let shape = try #require(failure(#"{"inputs": [{"name": "input", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]}"#))
        #expect(shape.message.contains("expected [rows, 2]"))
        let count = try #require(failure(#"{"inputs": [{"name": "input", "shape": [2, 2], "datatype": "FP32", "data": [1, 2, 3]}]}"#))
        #expect(count.message.contains("has 3 values in 'data', its shape [2, 2] needs 4"))
        let type = try #require(failure(#"{"inputs": [{"name": "input", "shape": [1, 2], "datatype": "BYTES", "data": ["a", "b"]}]}"#))
        #expect(type.message.contains("datatype BYTES"))
        let missing = try #require(failure(#"{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}, {"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]}"#))
        #expect(missing.message.contains("missing input tensors for features: y"))
        let output = try #require(failure(#"{"inputs": [{"name": "input", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}], "outputs": [{"name": "logits"}]}"#))
        #expect(output.message.contains("has outputs label, probabilities"))
        #expect(failure(#"{"inputs": []}"#)?.status.code == 400)
    }
}
