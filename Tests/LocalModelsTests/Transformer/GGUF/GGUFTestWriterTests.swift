import Foundation
import Testing

@testable import LocalModels

/// The writer the load-error tests edit fixtures with: an unedited copy must be the fixture, byte for byte,
/// so that each of those tests changes only the field it names.
@Suite struct GGUFTestWriterTests {
    @Test(arguments: ["llama-mha-f32.gguf", "qwen2-q8_0.gguf"])
    func anUneditedCopyIsTheFixture(_ file: String) throws {
        let path = ModelFixtures.model(file).path
        let copy = GGUFTestWriter(copying: try GGUFFile(path: path)).bytes()
        #expect(copy == [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
    }
}
