import Foundation
import Testing
@testable import MoshiLM

@Suite struct LMConfigTests {
    /// The reference's `_lm_kwargs` (configs/moshi_7b_202409.json), as a JSON file would hold it.
    static let moshi7BJSON = """
    {"dim": 4096, "text_card": 32000, "existing_text_padding_id": 3, "n_q": 16, "dep_q": 8, "card": 2048,
     "num_heads": 32, "num_layers": 32, "hidden_scale": 4.125, "causal": true, "layer_scale": null, "context": 3000,
     "max_period": 10000, "gating": "silu", "norm": "rms_norm_f32", "positional_embedding": "rope",
     "depformer_dim": 1024, "depformer_dim_feedforward": 4224, "depformer_num_heads": 16, "depformer_num_layers": 6,
     "depformer_causal": true, "depformer_layer_scale": null, "depformer_multi_linear": true, "depformer_context": 8,
     "depformer_max_period": 10000, "depformer_gating": "silu", "depformer_pos_emb": "none",
     "depformer_weights_per_step": true, "delays": [0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1]}
    """

    @Test func moshi7BJSONEqualsThePreset() throws {
        let config = try LMConfig(json: Data(LMConfigTests.moshi7BJSON.utf8))
        #expect(config == LMConfig.moshi7B)
        #expect(config.gatedHidden == 11_264)
        #expect(config.depformer.gatedHidden == 2816)
        #expect(config.headDim == 128 && config.depformer.headDim == 64)
        #expect(config.userCodebooks == 8 && config.maxDelay == 1)
    }

    @Test func gatedWidthFollowsTheReferenceRule() {
        // ff == 4 * dim takes 21 * dim / 8; anything else 2 * ff / 3.
        #expect(LMConfig.gatedHidden(dim: 4096, feedForward: 16_384) == 10_752)
        #expect(LMConfig.gatedHidden(dim: 4096, feedForward: 16_896) == 11_264)
        #expect(LMConfig.gatedHidden(dim: 32, feedForward: 132) == 88)
        #expect(LMConfig.gatedHidden(dim: 16, feedForward: 66) == 44)
        #expect(LMConfig.gatedHidden(dim: 64, feedForward: 96) == 64)
    }

    @Test func fixtureConfigsDeriveTheSizesTheReferenceUsed() throws {
        let zero = try LMConfig(contentsOf: LMFixture.directory + "/lm_seed0_config.json")
        #expect(zero.gatedHidden == 88 && zero.depformer.gatedHidden == 44)
        #expect(zero.depformerWeightSets == 8 && zero.depformerInputProjections == 8)
        let one = try LMConfig(contentsOf: LMFixture.directory + "/lm_seed1_config.json")
        #expect(one.gatedHidden == 64 && one.depformer.layers == 1 && one.userCodebooks == 4)
    }

    @Test func repositoryConfigKeysAreSkippedAndGenerationDefaultsRead() throws {
        var json = LMConfigTests.moshi7BJSON
        json.removeLast()
        json += #", "moshi_name": "model.safetensors", "mimi_name": "tokenizer-e351c8d8-checkpoint125.safetensors", "tokenizer_name": "tokenizer_spm_32k_3.model", "model_type": "moshi", "lm_gen_config": {"temp": 0.6, "temp_text": 0.5, "top_k": 100, "top_k_text": 10}, "something_new": 1}"#
        let data = Data(json.utf8)
        #expect(try LMConfig(json: data) == LMConfig.moshi7B)
        let file = try LMConfigFile(json: data, source: "config.json")
        #expect(file.config == LMConfig.moshi7B)
        let sampling = try #require(file.generationDefaults)
        #expect(sampling == LMSampling(textTemperature: 0.5, textTopK: 10, audioTemperature: 0.6, audioTopK: 100))
        #expect(file.unknownKeys == ["something_new"])
        #expect(file.mlxQuantization == nil)
    }

    @Test func badValuesNameTheKey() {
        func message(_ json: String) -> String {
            do { _ = try LMConfig(json: Data(json.utf8), source: "c.json"); return "" } catch { return error.description }
        }
        #expect(message(#"{"dim": "big"}"#).contains("dim must be an integer"))
        #expect(message(#"{"gating": "swish"}"#).contains("gating \"swish\" is not supported"))
        #expect(message(#"{"layer_scale": 0.01}"#).contains("layer_scale = 0.01 is not supported"))
        #expect(message(#"{"n_q": 8}"#).contains("delays"))
        #expect(message(#"{"dim": 100, "num_heads": 32}"#).contains("multiple of num_heads"))
        #expect(message("[1, 2]").contains("top level must be a JSON object"))
        #expect(message("{").contains("not valid JSON"))
        #expect(message(#"{"depformer_multi_linear": 1}"#).contains("depformer_multi_linear must be true or false"))
    }

    @Test func presetsAreValid() throws {
        for (_, config) in LMConfig.presets { try config.validate() }
        #expect(LMConfig.preset(named: "moshi-7b") == LMConfig.moshi7B)
        #expect(LMConfig.preset(named: "nope") == nil)
    }
}
