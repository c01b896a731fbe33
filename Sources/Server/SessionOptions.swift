import Foundation

/// What a client may choose for its conversation, sent as JSON in the framed handshake
/// (`{"text_temperature": 0.7, "audio_temperature": 0.8, "text_topk": 25, "audio_topk": 250,
/// "seed": 42}`, every key optional) or as Kyutai's query parameters on `/api/chat`.
/// Absent values take the server's defaults.
package struct SessionOptions: Sendable, Equatable, Codable {
    package var textTemperature: Float?
    package var audioTemperature: Float?
    package var textTopK: Int?
    package var audioTopK: Int?
    package var seed: UInt64?
    /// The server's `auth_token`, when it requires one (framed handshake only; `/api/chat`
    /// carries it in the Authorization header or the query). Not a model setting.
    package var token: String?

    package init(textTemperature: Float? = nil, audioTemperature: Float? = nil, textTopK: Int? = nil, audioTopK: Int? = nil, seed: UInt64? = nil,
                token: String? = nil) {
        self.token = token
        self.textTemperature = textTemperature
        self.audioTemperature = audioTemperature
        self.textTopK = textTopK
        self.audioTopK = audioTopK
        self.seed = seed
    }

    enum CodingKeys: String, CodingKey {
        case textTemperature = "text_temperature"
        case audioTemperature = "audio_temperature"
        case textTopK = "text_topk"
        case audioTopK = "audio_topk"
        case seed
        case token
    }

    /// Parses the handshake JSON (an empty payload means all defaults) and checks the ranges.
    package init(json: [UInt8]) throws(SessionOptionsError) {
        if json.isEmpty { self.init(); return }
        do {
            self = try JSONDecoder().decode(SessionOptions.self, from: Data(json))
        } catch {
            throw SessionOptionsError("handshake options are not valid JSON of the expected shape: \(Self.describe(error))")
        }
        try validate()
    }

    /// Kyutai's `/api/chat` query parameters: `text_temperature`, `audio_temperature`,
    /// `text_topk`, `audio_topk`, `audio_seed` (also `seed`); others are ignored.
    package init(query: [String: String]) throws(SessionOptionsError) {
        self.init()
        func number<T: LosslessStringConvertible>(_ key: String, _ type: T.Type) throws(SessionOptionsError) -> T? {
            guard let raw = query[key] else { return nil }
            guard let value = T(raw) else { throw SessionOptionsError("query parameter \(key)=\(raw) is not a number") }
            return value
        }
        textTemperature = try number("text_temperature", Float.self)
        audioTemperature = try number("audio_temperature", Float.self)
        textTopK = try number("text_topk", Int.self)
        audioTopK = try number("audio_topk", Int.self)
        let audioSeed = try number("audio_seed", UInt64.self)
        let plainSeed = try number("seed", UInt64.self)
        seed = audioSeed ?? plainSeed
        try validate()
    }

    /// Throws when a value is out of range (temperatures 0...10, top-k 0...100000).
    package func validate() throws(SessionOptionsError) {
        for (name, value) in [("text_temperature", textTemperature), ("audio_temperature", audioTemperature)] {
            if let value, !(value >= 0 && value <= 10) { throw SessionOptionsError("\(name) must be between 0 and 10, got \(value)") }
        }
        for (name, value) in [("text_topk", textTopK), ("audio_topk", audioTopK)] {
            if let value, !(0...100_000).contains(value) { throw SessionOptionsError("\(name) must be between 0 and 100000, got \(value)") }
        }
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
             DecodingError.keyNotFound(_, let context), DecodingError.dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }
}

/// Why session options were refused.
package struct SessionOptionsError: Error, Sendable, Equatable, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}
