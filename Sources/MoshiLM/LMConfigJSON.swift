import Foundation
import Weights

extension LMConfig {
    /// Keys of a repository `config.json` that describe other parts of the checkpoint (file
    /// names, generation defaults); they are not LM hyper-parameters.
    static let nonModelKeys: Set<String> = [
        "moshi_name", "mimi_name", "mimi_config_name", "tokenizer_name", "lora_name", "model_type",
        "lm_gen_config", "tts_config", "stt_config", "model_id", "quantize", "lora", "lora_rank", "lora_scaling",
    ]

    /// Keys the reference accepts that change the model beyond what this port implements;
    /// each is fine at its default (second value) and refused otherwise.
    static let unsupportedUnlessDefault: [String: String] = [
        "conditioners": "null", "fuser": "null", "cross_attention": "false", "demux_second_stream": "false",
        "demux_second_text_stream": "false", "extra_heads_num_heads": "0", "depformer_low_rank_embeddings": "null",
        "norm_emb": "false", "bias_proj": "false", "bias_ff": "false", "bias_attn": "false", "depformer_norm": "null",
        "layer_scale": "null", "depformer_layer_scale": "null", "kv_repeat": "1", "depformer_kv_repeat": "1",
    ]

    /// Keys read (or knowingly ignored, as the reference does).
    static let knownKeys: Set<String> = [
        "dim", "text_card", "text_card_out", "existing_text_padding_id", "existing_text_end_padding_id", "n_q", "dep_q",
        "card", "num_heads", "num_layers", "hidden_scale", "dim_feedforward", "causal", "context", "max_period",
        "gating", "norm", "positional_embedding", "depformer_dim", "depformer_dim_feedforward", "depformer_num_heads",
        "depformer_num_layers", "depformer_causal", "depformer_multi_linear", "depformer_context",
        "depformer_max_period", "depformer_gating", "depformer_pos_emb", "depformer_weights_per_step",
        "depformer_weights_per_step_schedule", "delays", "extra_heads_dim"
    ]

    /// The configuration in a Kyutai LM config JSON: `configs/moshi_7b_202409.json`, the
    /// reference's `_lm_kwargs`, or a repository `config.json` (its non-LM keys are skipped).
    /// Missing keys take the values of the reference's `_lm_kwargs` (Moshi 7B), and
    /// derived sizes follow the reference's rules; keys for features this port lacks are refused
    /// with their name unless they hold their default.
    package init(json data: Data, source: String = "LM config") throws(LMConfigError) {
        try self.init(config: try LMConfig.parseObject(data, source: source), source: source)
    }

    /// The configuration in an already parsed config object (`source` names it in errors).
    package init(config root: [String: JSONValue], source: String) throws(LMConfigError) {
        let keys = JSONKeys(root, source: source)
        for (key, fallback) in LMConfig.unsupportedUnlessDefault.sorted(by: { $0.key < $1.key }) {
            if let value = root[key], value.rendered != "null", value.rendered != fallback {
                throw LMConfigError("\(source): \(key) = \(value.rendered) is not supported (only \(fallback)); this port runs Moshi-structured models")
            }
        }
        if let norm = try keys.string("norm"), !["rms_norm_f32", "rms_norm"].contains(norm) {
            throw LMConfigError("\(source): norm \"\(norm)\" is not supported (rms_norm_f32 or rms_norm)")
        }
        if let causal = try keys.bool("causal"), !causal {
            throw LMConfigError("\(source): causal = false is not supported (a streaming model is causal)")
        }
        let preset = LMConfig.moshi7B
        let dim = try keys.int("dim") ?? preset.dim
        let hiddenScale = try keys.double("hidden_scale") ?? 4.125
        let feedForward = try keys.int("dim_feedforward") ?? Int(hiddenScale * Double(dim))
        let gating = try keys.activation("gating") ?? .silu
        let heads = try keys.int("num_heads") ?? preset.heads
        let maxPeriod = try keys.double("max_period") ?? 10_000
        let depDim = try keys.int("depformer_dim") ?? preset.depformer.dim
        let layers = try keys.int("num_layers") ?? preset.layers
        let depformer = Depformer(
            dim: depDim,
            heads: try keys.int("depformer_num_heads") ?? heads,
            layers: try keys.int("depformer_num_layers") ?? layers,
            feedForward: try keys.int("depformer_dim_feedforward") ?? Int(hiddenScale * Double(depDim)),
            gating: try keys.activation("depformer_gating") ?? gating,
            positionalEncoding: try keys.positional("depformer_pos_emb") ?? .none,
            maxPeriod: try keys.double("depformer_max_period") ?? maxPeriod,
            multiLinear: try keys.bool("depformer_multi_linear") ?? true,
            weightsPerStep: try keys.bool("depformer_weights_per_step") ?? true,
            schedule: try keys.intArray("depformer_weights_per_step_schedule"))
        let nQ = try keys.int("n_q") ?? preset.inputCodebooks
        let textCard = try keys.int("text_card") ?? preset.textCard
        self.init(
            dim: dim, heads: heads, layers: layers, feedForward: feedForward,
            gating: gating, positionalEncoding: try keys.positional("positional_embedding") ?? .rope,
            context: try keys.int("context") ?? preset.context, maxPeriod: maxPeriod, textCard: textCard,
            textCardOut: try keys.int("text_card_out"), audioCard: try keys.int("card") ?? preset.audioCard,
            inputCodebooks: nQ, generatedCodebooks: try keys.int("dep_q") ?? min(nQ, preset.generatedCodebooks),
            delays: try keys.intArray("delays") ?? (nQ == preset.inputCodebooks ? preset.delays : []), depformer: depformer,
            textPaddingID: try keys.int("existing_text_padding_id") ?? 3,
            textEndPaddingID: try keys.int("existing_text_end_padding_id") ?? 0)
        do { try validate() } catch { throw LMConfigError("\(source): \(error.description)") }
    }

    /// The configuration in the JSON file at `path`.
    package init(contentsOf path: String) throws(LMConfigError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LMConfigError("cannot read LM config \(path)")
        }
        try self.init(json: data, source: path)
    }

    /// Sampling defaults a repository `config.json` carries (`lm_gen_config`), if any.
    static func generationDefaults(config root: [String: JSONValue]) -> LMSampling? {
        guard let gen = root["lm_gen_config"]?.object else { return nil }
        var sampling = LMSampling.referenceDefaults
        if case .number(let t)? = gen["temp"] { sampling.audioTemperature = Float(t) }
        if case .number(let t)? = gen["temp_text"] { sampling.textTemperature = Float(t) }
        if let k = gen["top_k"]?.integer { sampling.audioTopK = k }
        if let k = gen["top_k_text"]?.integer { sampling.textTopK = k }
        return sampling
    }

    /// Keys of a config this loader neither reads nor knows to skip (for a warning in the log).
    static func unknownKeys(config root: [String: JSONValue]) -> [String] {
        root.keys.filter { !knownKeys.contains($0) && !nonModelKeys.contains($0) && unsupportedUnlessDefault[$0] == nil }.sorted()
    }

    /// The top-level object of JSON text, or an error naming `source`.
    static func parseObject(_ data: Data, source: String) throws(LMConfigError) -> [String: JSONValue] {
        let parsed: JSONValue
        do { parsed = try JSONValue.parse(data) } catch {
            throw LMConfigError("\(source): not valid JSON (\(error.description))")
        }
        guard let root = parsed.object else { throw LMConfigError("\(source): the top level must be a JSON object") }
        return root
    }
}

/// Typed reads of a JSON object's keys, with errors that name the key.
private struct JSONKeys {
    let root: [String: JSONValue]
    let source: String

    init(_ root: [String: JSONValue], source: String) {
        self.root = root
        self.source = source
    }

    private func fail(_ key: String, _ expected: String) -> LMConfigError {
        LMConfigError("\(source): \(key) must be \(expected), found \((root[key] ?? .null).rendered)")
    }

    private func present(_ key: String) -> JSONValue? {
        guard let value = root[key] else { return nil }
        if case .null = value { return nil }
        return value
    }

    func int(_ key: String) throws(LMConfigError) -> Int? {
        guard let value = present(key) else { return nil }
        guard case .number(let n) = value, n == n.rounded(), abs(n) < 1e12 else { throw fail(key, "an integer") }
        return Int(n)
    }

    func double(_ key: String) throws(LMConfigError) -> Double? {
        guard let value = present(key) else { return nil }
        guard case .number(let n) = value, n.isFinite else { throw fail(key, "a number") }
        return n
    }

    func bool(_ key: String) throws(LMConfigError) -> Bool? {
        guard let value = present(key) else { return nil }
        guard case .bool(let b) = value else { throw fail(key, "true or false") }
        return b
    }

    func string(_ key: String) throws(LMConfigError) -> String? {
        guard let value = present(key) else { return nil }
        guard case .string(let s) = value else { throw fail(key, "a string") }
        return s
    }

    func intArray(_ key: String) throws(LMConfigError) -> [Int]? {
        guard let value = present(key) else { return nil }
        guard case .array(let items) = value else { throw fail(key, "a list of integers") }
        var out: [Int] = []
        for item in items {
            guard case .number(let n) = item, n == n.rounded(), abs(n) < 1e9 else { throw fail(key, "a list of integers") }
            out.append(Int(n))
        }
        return out
    }

    func activation(_ key: String) throws(LMConfigError) -> LMConfig.Activation? {
        guard let name = try string(key) else { return nil }
        guard let activation = LMConfig.Activation(rawValue: name) else {
            throw LMConfigError("\(source): \(key) \"\(name)\" is not supported (\(LMConfig.Activation.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return activation
    }

    func positional(_ key: String) throws(LMConfigError) -> LMConfig.PositionalEncoding? {
        guard let name = try string(key) else { return nil }
        guard let encoding = LMConfig.PositionalEncoding(rawValue: name) else {
            throw LMConfigError("\(source): \(key) \"\(name)\" is not supported (rope or none)")
        }
        return encoding
    }
}
