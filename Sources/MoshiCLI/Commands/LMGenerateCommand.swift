import ArgumentParser
import Foundation
import Mimi
import MoshiLM
import MoshiNumerics


/// `moshi lm generate`: the streaming generator over a file of user codes, one step per frame,
/// exactly as a live stream would feed it.
struct LMGenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate the model's side for a file of user Mimi codes.",
        discussion: """
            Reads the user's codes (.npy, int32 [codebooks, T], as `moshi codec encode` writes them), \
            runs one generator step per frame (the first frame is not fed twice: T frames give T-1 \
            returned steps; T - max_delay for other delay patterns) and writes int32 [1 + dep_q, T-1] (row 0 the text token, then the \
            model's audio codes). With a tokenizer (--tokenizer, or one next to the model) it \
            prints the text. Decode the model's audio with `moshi codec decode` on rows 1...
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .customLong("user-codes"), help: ArgumentHelp("The user's codes (.npy, int32 [codebooks, T]).", valueName: "codes.npy"))
    var userCodes: String

    @Option(name: .shortAndLong, help: ArgumentHelp("Output codes (.npy, int32 [1 + dep_q, T-1]).", valueName: "out.npy"))
    var output: String

    func run() throws {
        let settings = try global.loadSettings()
        let model = modelOptions.resolved(settings)
        let loader = ModelLoader(options: model, settings: settings)
        let pool = model.threadCount > 1 ? ThreadPool(threads: model.threadCount) : nil
        let files = try loader.selectFiles(needs: loader.neededParts.intersection([.languageModel]))
        let lm = try loader.loadLM(files: files, pool: pool)
        let tokenizer = try loader.loadTokenizer(files: files)
        guard let bytes = FileManager.default.contents(atPath: userCodes) else { throw ModelLoadError("cannot read \(userCodes)") }
        let codes: MimiCodes
        do { codes = try MimiCodes(npy: [UInt8](bytes)) } catch { throw ModelLoadError("\(userCodes): \(error.description)") }
        let lmModel = try LMModel(weights: lm.weights, pool: pool, precision: model.precision, cachePrecision: model.cachePrecision)
        let config = lmModel.config
        guard codes.codebooks >= config.userCodebooks else {
            throw ModelLoadError("\(userCodes) has \(codes.codebooks) codebooks; the model reads \(config.userCodebooks)")
        }
        if let bad = codes.values.first(where: { $0 < 0 || Int($0) >= config.audioCard }) {
            throw ModelLoadError("\(userCodes) holds code \(bad), outside 0..<\(config.audioCard)")
        }
        FileHandle.standardError.write(Data("language model: \(lm.source); \(lmModel.memorySummary)\n".utf8))
        let generator = LMGenerator(model: lmModel, sampling: lm.sampling, seed: model.seed)
        let q = config.generatedCodebooks
        var frames: [[Int32]] = []
        var text = tokenizer.map { StreamingTextDecoder(model: $0) }
        var transcript = ""
        var frame = [Int32](repeating: 0, count: codes.codebooks)
        for t in 0..<codes.frames {
            for k in 0..<codes.codebooks { frame[k] = codes.values[k * codes.frames + t] }
            let produced = frame.withUnsafeBufferPointer { generator.step(userCodes: $0.baseAddress!, count: $0.count) }
            guard produced else { continue }
            frames.append(Array(UnsafeBufferPointer(start: generator.frame, count: 1 + q)))
            if var decoder = text {
                transcript += decoder.push(Int(generator.frameTextToken))
                text = decoder
            }
        }
        let out = MimiCodes(frames: frames, codebooks: 1 + q)
        guard FileManager.default.createFile(atPath: output, contents: Data(out.npyBytes())) else {
            throw ModelLoadError("cannot write \(output)")
        }
        if var decoder = text { transcript += decoder.finish(); print(transcript) }
        FileHandle.standardError.write(Data("wrote \(frames.count) steps ([\(1 + q), \(frames.count)] int32) to \(output)\n".utf8))
    }
}
