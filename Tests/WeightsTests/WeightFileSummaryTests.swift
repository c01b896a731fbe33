import Foundation
import Testing
@testable import Weights

@Suite struct WeightFileSummaryTests {
    @Test func thousandsSeparators() {
        #expect(WeightFileSummary.grouped(0) == "0")
        #expect(WeightFileSummary.grouped(999) == "999")
        #expect(WeightFileSummary.grouped(1000) == "1,000")
        #expect(WeightFileSummary.grouped(96_151_393) == "96,151,393")
        #expect(WeightFileSummary.grouped(7_687_729_152) == "7,687,729,152")
        #expect(WeightFileSummary.grouped(-1234) == "-1,234")
    }

    @Test func safetensorsListing() throws {
        var writer = SafetensorsWriter(metadata: ["format": "pt"])
        writer.add("encoder.model.0.conv.conv.weight", shape: [64, 1, 7], floats: [Float](repeating: 0, count: 448))
        writer.add("out_norm.alpha", shape: [1, 1, 4], floats: [1, 1, 1, 1], as: .bf16)
        let summary = WeightFileSummary(try parseSafetensors(writer.serialized()))
        #expect(summary.totalBytes == 1800)
        #expect(summary.totalParameters == 452)
        #expect(summary.text() == """
            file: test.safetensors
            format: safetensors
            data offset: 216
            metadata (1):
              format = pt
            tensors:
              name                              dtype  shape       bytes
              encoder.model.0.conv.conv.weight  F32    [64, 1, 7]  1,792
              out_norm.alpha                    BF16   [1, 1, 4]       8
            total: 2 tensors, 1,800 bytes, 452 parameters

            """)
    }

    @Test func ggufListingShortensMetadata() throws {
        var writer = GGUFWriter()
        writer.set("tokenizer.tokens", .array(.string((0..<1000).map { "t\($0)" })))
        writer.set("general.description", .string(String(repeating: "long ", count: 40)))
        writer.add("blk.0.attn_q.weight", shape: [2, 32], floats: [Float](repeating: 1, count: 64), as: .q8_0)
        let summary = WeightFileSummary(try parseGGUF(writer.serialized()))
        #expect(summary.format == "GGUF v3")
        #expect(summary.totalsLine == "1 tensor, 68 bytes, 64 parameters")
        let text = summary.text()
        #expect(text.contains("alignment: 32\n"))
        #expect(text.contains("  tokenizer.tokens = [string x 1000: \"t0\", \"t1\", \"t2\", \"t3\", \"t4\", \"t5\", \"t6\", \"t7\", ...]\n"))
        #expect(text.contains("  general.description = \"" + String(repeating: "long ", count: 12) + "\"...\n") == false)
        #expect(text.contains("  general.description = \"" + String(String(repeating: "long ", count: 40).prefix(60)) + "...\"\n"))
        #expect(text.contains("  blk.0.attn_q.weight  Q8_0   [2, 32]     68\n"))
    }

    @Test func jsonOutputParsesAndHasTheTotals() throws {
        var writer = SafetensorsWriter(metadata: ["note": "quote\" and \\ and \n"])
        writer.add("a\"b", shape: [2, 3], floats: [1, 2, 3, 4, 5, 6], as: .f16)
        writer.add("scalar", shape: [], floats: [1])
        let summary = WeightFileSummary(try parseSafetensors(writer.serialized()))
        let object = try #require(JSONSerialization.jsonObject(with: Data(summary.json().utf8)) as? [String: Any])
        #expect(object["format"] as? String == "safetensors")
        #expect(object["tensor_count"] as? Int == 2)
        #expect(object["total_bytes"] as? Int == 16)
        #expect(object["total_parameters"] as? Int == 7)
        #expect((object["metadata"] as? [String: String])?["note"] == "quote\" and \\ and \n")
        let tensors = try #require(object["tensors"] as? [[String: Any]])
        #expect(tensors.first?["name"] as? String == "a\"b")
        #expect(tensors.first?["shape"] as? [Int] == [2, 3])
        #expect(tensors.last?["shape"] as? [Int] == [])
    }

    @Test func loadReportsTheProblemOfABadFile() throws {
        let path = Scratch.write(Array("GGUF".utf8) + [9, 0, 0, 0], "bad-version.gguf")
        let error = try #require(weightError { _ = try WeightFileSummary.load(path: path) })
        #expect(error.description == "\(path): GGUF version 9 is not supported (supported: 2, 3)")
    }
}
