import Foundation
import Testing

@testable import LocalModels

@Suite struct GGUFFileTests {
    static func sample(version: UInt32 = 3, alignment: Int = 32) -> GGUFTestWriter {
        var w = GGUFTestWriter()
        w.version = version
        w.alignment = alignment
        w.add("general.architecture", .string("llama"))
        if alignment != 32 { w.add("general.alignment", .uint32(UInt32(alignment))) }
        w.add("u8", .uint8(200))
        w.add("i8", .int8(-5))
        w.add("u16", .uint16(60000))
        w.add("i16", .int16(-30000))
        w.add("u32", .uint32(4_000_000_000))
        w.add("i32", .int32(-2_000_000_000))
        w.add("u64", .uint64(1 << 40))
        w.add("i64", .int64(-(1 << 40)))
        w.add("f32", .float32(0.25))
        w.add("f64", .float64(-1.5e300))
        w.add("flag", .bool(true))
        w.add("name", .string("héllo ▁ 世界"))
        w.add("tokens", .array(elementType: 8, [.string("<s>"), .string("▁a"), .string("")]))
        w.add("scores", .array(elementType: 6, [.float32(-1), .float32(0), .float32(2.5)]))
        w.add("types", .array(elementType: 5, [.int32(3), .int32(1), .int32(6)]))
        w.add("nested", .array(elementType: 9, [.array(elementType: 0, [.uint8(1), .uint8(2)])]))
        w.addFloatTensor("a", shape: [3, 2], values: [1, 2, 3, 4, 5, 6])
        w.addTensor("q", shape: [64, 3], type: .q8_0, data: (0..<(34 * 2 * 3)).map { UInt8($0 % 251) })
        w.addFloatTensor("b", shape: [5], values: [-1, -2, -3, -4, -5])
        return w
    }

    @Test(arguments: [(UInt32(2), 32), (UInt32(3), 32), (UInt32(3), 64), (UInt32(3), 8)])
    func parsesEveryValueTypeAndTheTensorTable(version: UInt32, alignment: Int) throws {
        let file = try GGUFFile(path: try Self.sample(version: version, alignment: alignment).write())
        #expect(file.version == version)
        #expect(file.alignment == alignment)
        #expect(file.architecture == "llama")
        #expect(file.integer("u8") == 200)
        #expect(file.integer("i8") == -5)
        #expect(file.integer("u16") == 60000)
        #expect(file.integer("i16") == -30000)
        #expect(file.integer("u32") == 4_000_000_000)
        #expect(file.integer("i32") == -2_000_000_000)
        #expect(file.integer("u64") == 1 << 40)
        #expect(file.integer("i64") == -(1 << 40))
        #expect(file.double("f32") == 0.25)
        #expect(file.double("f64") == -1.5e300)
        #expect(file.bool("flag") == true)
        #expect(file.string("name") == "héllo ▁ 世界")
        #expect(file.array("tokens")?.strings == ["<s>", "▁a", ""])
        #expect(file.array("scores")?.floats == [-1, 0, 2.5])
        #expect(file.array("types")?.integers == [3, 1, 6])
        #expect(file.array("nested") == .array([.uint8([1, 2])]))
        #expect(file.metadataKeys.first == "general.architecture")
        #expect(file.tensors.map(\.name) == ["a", "q", "b"])

        let a = try #require(file.tensor(named: "a"))
        #expect(a.shape == [3, 2] && a.rowLength == 3 && a.rowCount == 2 && a.type == .f32 && a.byteCount == 24)
        #expect(a.fileOffset % alignment == 0)
        let values = file.data(of: a).withMemoryRebound(to: Float.self) { Array($0) }
        #expect(values == [1, 2, 3, 4, 5, 6])

        let q = try #require(file.tensor(named: "q"))
        #expect(q.type == .q8_0 && q.byteCount == 34 * 2 * 3)
        #expect(Array(file.data(of: q).prefix(3)) == [0, 1, 2])
        let b = try #require(file.tensor(named: "b"))
        #expect(file.data(of: b).withMemoryRebound(to: Float.self) { Array($0) } == [-1, -2, -3, -4, -5])
    }

    @Test func everyTruncationThrowsAndNeverCrashes() throws {
        let bytes = Self.sample().bytes()
        // The last tensor's data ends 20 bytes into its final alignment slot; any cut before that must fail.
        let lastDataEnd = bytes.count - (32 - 20)
        var step = 1
        var cut = 0
        let path = try GGUFTestWriter.write([])
        while cut < lastDataEnd {
            try Data(bytes[0..<cut]).write(to: URL(fileURLWithPath: path))
            #expect(throws: GGUFLoadError.self, "cut at \(cut)") { _ = try GGUFFile(path: path) }
            cut += step
            if cut > 600 { step = 7 }
        }
        _ = try GGUFFile(path: try GGUFTestWriter.write(Array(bytes[0..<lastDataEnd])))
    }

    @Test func flippedBytesNeverCrash() throws {
        let bytes = Self.sample().bytes()
        var rng = SystemRandomNumberGenerator()
        let path = try GGUFTestWriter.write([])
        for _ in 0..<300 {
            var broken = bytes
            for _ in 0..<3 {
                let i = Int.random(in: 0..<min(broken.count, 700), using: &rng)
                broken[i] ^= UInt8.random(in: 1...255, using: &rng)
            }
            try Data(broken).write(to: URL(fileURLWithPath: path))
            // Either it parses (the flip hit data or a harmless byte) or it fails with a load error.
            do { _ = try GGUFFile(path: path) } catch is GGUFLoadError {}
        }
    }

    private func loadError(_ writer: GGUFTestWriter) throws -> GGUFLoadError {
        let path = try writer.write()
        do {
            _ = try GGUFFile(path: path)
        } catch let error as GGUFLoadError {
            #expect(error.file == path)
            return error
        }
        Issue.record("expected a load error")
        return GGUFLoadError(file: "", part: "", reason: "")
    }

    @Test func badMagicAndVersions() throws {
        var w = Self.sample()
        w.magic = Array("GGML".utf8)
        #expect(try loadError(w).reason.contains("bad magic"))
        w = Self.sample()
        w.version = 1
        #expect(try loadError(w).reason.contains("unsupported GGUF version 1"))
        w.version = 4
        #expect(try loadError(w).reason.contains("version 4"))
    }

    @Test func unknownTensorTypeIsNamed() throws {
        var w = Self.sample()
        w.tensors.append(.init(name: "weird", shape: [4], type: .f32, data: [UInt8](repeating: 0, count: 16)))
        var bytes = w.bytes()
        // Patch the type field of the last tensor entry: it sits 12 bytes before that entry's end (type u32, offset u64).
        let name = Array("weird".utf8)
        let at = try #require(Self.find(name, in: bytes)) + name.count + 4 + 8
        bytes.replaceSubrange(at..<at + 4, with: [99, 0, 0, 0])
        let path = try GGUFTestWriter.write(bytes)
        #expect {
            _ = try GGUFFile(path: path)
        } throws: { error in
            let e = error as? GGUFLoadError
            return e?.part == "tensor weird" && e?.reason == "unknown tensor type 99"
        }
    }

    @Test func shapeThatIsNotWholeBlocks() throws {
        var w = Self.sample()
        w.tensors.append(.init(name: "bad.q", shape: [48, 2], type: .q4_0, data: [UInt8](repeating: 0, count: 64)))
        let e = try loadError(w)
        #expect(e.part == "tensor bad.q")
        #expect(e.reason.contains("not whole Q4_0 blocks of 32"))
    }

    @Test func dataPastTheEndOrMisaligned() throws {
        var w = Self.sample()
        w.tensors[2].offset = 1 << 20
        let e = try loadError(w)
        #expect(e.part == "tensor b" && e.reason.contains("runs past the end of the file"))
        w = Self.sample()
        w.tensors[2].offset = 4
        #expect(try loadError(w).reason.contains("not aligned"))
    }

    @Test func corruptCountsAndDuplicates() throws {
        var w = Self.sample()
        w.add("general.architecture", .string("qwen2"))
        #expect(try loadError(w).reason == "duplicate key")
        w = Self.sample()
        w.addFloatTensor("a", shape: [1], values: [0])
        #expect(try loadError(w).reason == "duplicate tensor name")
        w = Self.sample()
        w.alignment = 32
        w.add("general.alignment", .uint32(48))
        #expect(try loadError(w).reason.contains("power of two"))

        var bytes = Self.sample().bytes()
        bytes.replaceSubrange(16..<24, with: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])  // metadata count
        let path = try GGUFTestWriter.write(bytes)
        #expect {
            _ = try GGUFFile(path: path)
        } throws: { ($0 as? GGUFLoadError)?.reason.contains("cannot fit") == true }
    }

    @Test func missingFileAndDirectory() throws {
        #expect(throws: GGUFLoadError.self) { _ = try GGUFFile(path: "/nonexistent/model.gguf") }
        #expect {
            _ = try GGUFFile(path: FileManager.default.temporaryDirectory.path)
        } throws: { ($0 as? GGUFLoadError)?.reason == "not a regular file" }
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        for i in 0...(haystack.count - needle.count) where Array(haystack[i..<i + needle.count]) == needle {
            return i
        }
        return nil
    }
}
