/// Every configuration key the program reads. `Config/moshi.toml` documents each of them with
/// its default (a test keeps the two in step), and each has a `MOSHI_*` environment variable.
package enum SettingsCatalog {
    // MARK: [runtime]
    package static let threads = SettingKey<Int>(
        "runtime", "threads", default: 0,
        help: "Compute threads for the model kernels; 0 means one per CPU.",
        check: { $0 < 0 || $0 > 1024 ? "must be between 0 and 1024" : nil })
    package static let logLevel = SettingKey<String>(
        "runtime", "log_level", default: "info",
        help: "Log level: trace, debug, info, notice, warning, error or critical.",
        check: { logLevels.contains($0) ? nil : "must be one of \(logLevels.joined(separator: ", "))" })
    package static let matvecPrecision = SettingKey<String>(
        "runtime", "matvec_precision", default: "exact",
        help: "Quantized matrix-vector products: \"exact\" (f32 math on the dequantized weights) or \"int8\" (activations quantized to int8 per 32-block, faster, slightly less exact).",
        check: { ["exact", "int8"].contains($0) ? nil : "must be \"exact\" or \"int8\"" })

    // MARK: [model]
    package static let modelDirectory = SettingKey<String>(
        "model", "model_dir", default: "",
        help: "Directory holding a Kyutai repo's files (LM weights, Mimi weights, tokenizer); empty means look in the Hugging Face cache.")
    package static let hfRepo = SettingKey<String>(
        "model", "hf_repo", default: "kyutai/moshiko-pytorch-bf16",
        help: "Hugging Face repo whose files are looked up in the local Hugging Face cache (HF_HOME, HF_HUB_CACHE, ~/.cache/huggingface/hub).")
    package static let kvCachePrecision = SettingKey<String>(
        "model", "kv_cache_precision", default: "f32",
        help: "How the language model's KV cache stores keys and values: \"f32\" (the reference's numbers), \"f16\" or \"bf16\" (half the memory and traffic).",
        check: { ["f32", "f16", "bf16"].contains($0) ? nil : "must be \"f32\", \"f16\" or \"bf16\"" })
    package static let mimiCodebooks = SettingKey<Int>(
        "model", "mimi_codebooks", default: 8,
        help: "Mimi codebooks per frame (1 semantic + acoustic) for `moshi codec encode` and `roundtrip` when --codebooks is not given; a conversation always uses its language model's count (8 for Moshi 7B).",
        check: { (1...32).contains($0) ? nil : "must be between 1 and 32" })

    // MARK: [server]
    package static let serverHost = SettingKey<String>(
        "server", "host", default: "127.0.0.1",
        help: "Address `moshi serve` listens on; 127.0.0.1 keeps it on this machine, 0.0.0.0 opens it to the network.",
        check: { $0.isEmpty ? "must not be empty" : nil })
    package static let serverPort = SettingKey<Int>(
        "server", "port", default: 8998,
        help: "TCP port of `moshi serve` (framed protocol, plain Ogg Opus and the WebSocket /api/chat on one port).",
        check: { (0...65535).contains($0) ? nil : "must be between 0 and 65535" })
    package static let serverMaxSessions = SettingKey<Int>(
        "server", "max_sessions", default: 1,
        help: "Conversations at once; each holds its own caches (the weights are shared). A client beyond them is told the server is busy.",
        check: { (1...1024).contains($0) ? nil : "must be between 1 and 1024" })
    package static let serverBatch = SettingKey<Bool>(
        "server", "batch", default: true,
        help: "Step every session's 80 ms frame together in one lockstep batch (each weight read once per frame for all sessions; a session's tokens and audio are those it gets alone). false: each session runs on its own.")
    package static let serverIdleTimeout = SettingKey<Double>(
        "server", "idle_timeout_s", default: 60,
        help: "Seconds a connection may send nothing before it is closed; 0 disables.",
        check: { $0 >= 0 && $0 <= 86_400 ? nil : "must be between 0 and 86400" })

    package static let serverMetricsPort = SettingKey<Int>(
        "server", "metrics_port", default: 9898,
        help: "HTTP port for /healthz and /metrics (Prometheus), on server.metrics_host; 0 turns the endpoint off.",
        check: { (0...65535).contains($0) ? nil : "must be between 0 and 65535" })
    package static let serverMetricsHost = SettingKey<String>(
        "server", "metrics_host", default: "127.0.0.1",
        help: "Address of the /healthz and /metrics endpoint; separate from server.host, so opening the daemon to the network does not expose its metrics.",
        check: { $0.isEmpty ? "must not be empty" : nil })
    package static let serverLockWeights = SettingKey<Bool>(
        "server", "lock_weights", default: false,
        help: "Lock the mapped weights in RAM (mlockall) after loading, so they are never paged out; needs LimitMEMLOCK=infinity (or CAP_IPC_LOCK).")
    package static let serverWarmupFrames = SettingKey<Int>(
        "server", "warmup_frames", default: 4,
        help: "Silent frames run through a conversation before the daemon reports ready (they fault the weights in); 0 skips the warm-up.",
        check: { (0...1000).contains($0) ? nil : "must be between 0 and 1000" })
    package static let serverTLSCertificate = SettingKey<String>(
        "server", "tls_cert", default: "",
        help: "PEM certificate chain (leaf first) for TLS on server.port; empty: plain TCP only. With server.tls_key, a client that opens with a TLS handshake gets TLS (https://, wss://, framed or Ogg inside TLS) and plain clients still work.")
    package static let serverTLSKey = SettingKey<String>(
        "server", "tls_key", default: "",
        help: "PEM private key of server.tls_cert.")
    package static let serverAuthToken = SettingKey<String>(
        "server", "auth_token", default: "",
        help: "A shared secret every client must present (`/api/chat`: Authorization: Bearer or ?token=; framed: \"token\" in the handshake JSON; plain Ogg: a MOSHI_TOKEN comment in OpusTags); empty: none. Also MOSHI_AUTH_TOKEN. Required to listen on a non-loopback server.host (see server.insecure_no_auth).")
    package static let serverAllowedOrigins = SettingKey<String>(
        "server", "allowed_origins", default: "",
        help: "Browser origins allowed to open /api/chat besides the page's own host and localhost: comma-separated scheme://host[:port], or * for any. A WebSocket upgrade from another origin gets 403; clients that send no Origin (not browsers) are not affected.")
    package static let serverInsecureNoAuth = SettingKey<Bool>(
        "server", "insecure_no_auth", default: false,
        help: "Listen on a non-loopback server.host without server.auth_token (a trusted network only); without it such a configuration refuses to start.")
    package static let latePolicy = SettingKey<String>(
        "engine", "late_policy", default: "drop-oldest:2",
        help: "When compute falls behind the 80 ms frame: \"drop-oldest:N\" keeps the newest N waiting frames (stay live), \"grow-latency:N\" lets up to N frames queue before dropping (Docs/LATENCY.md).",
        check: { value in
            let parts = value.split(separator: ":")
            guard ["drop-oldest", "grow-latency"].contains(String(parts.first ?? "")), parts.count <= 2,
                  parts.count == 1 || Int(parts[1]).map({ (1...1000).contains($0) }) == true else {
                return "must be drop-oldest[:N] or grow-latency[:N] with N in 1...1000"
            }
            return nil
        })

    static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// All keys, in the order `Config/moshi.toml` lists them.
    package static let all: [AnySettingKey] = [
        threads.erased, logLevel.erased, matvecPrecision.erased,
        modelDirectory.erased, hfRepo.erased, kvCachePrecision.erased, mimiCodebooks.erased,
        latePolicy.erased,
        serverHost.erased, serverPort.erased, serverMaxSessions.erased, serverBatch.erased, serverIdleTimeout.erased, serverMetricsPort.erased,
        serverMetricsHost.erased, serverLockWeights.erased, serverWarmupFrames.erased,
        serverTLSCertificate.erased, serverTLSKey.erased, serverAuthToken.erased, serverAllowedOrigins.erased,
        serverInsecureNoAuth.erased,
    ]

    /// The sections, in order of first appearance.
    package static var sections: [String] {
        var seen: [String] = []
        for key in all where !seen.contains(key.section) { seen.append(key.section) }
        return seen
    }
}
