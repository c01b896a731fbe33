import CALSA
import Glibc

/// A PCM device as ALSA's name hints describe it (`snd_device_name_hint`).
package struct PCMDeviceInfo: Sendable, Equatable {
    /// The name to open it with (`default`, `hw:CARD=PCH,DEV=0`, `plughw:...`, `null`).
    package var name: String
    /// ALSA's description, possibly several lines (card name, then device name).
    package var description: String
    /// Whether it can record.
    package var canCapture: Bool
    /// Whether it can play.
    package var canPlay: Bool
}

/// A sound card the kernel knows (`snd_card_next`, `snd_card_get_name`).
package struct SoundCard: Sendable, Equatable {
    /// The card index, as in `hw:INDEX,0`.
    package var index: Int
    /// The short name (`snd_card_get_name`).
    package var name: String
    /// The long name (`snd_card_get_longname`).
    package var longName: String
}

extension PCMDevice {
    /// Every PCM device ALSA's configuration and the sound cards offer, with the names
    /// `snd_device_name_hint(-1, "pcm", ...)` gives (`aplay -L` lists the same). Includes
    /// virtual devices such as `null`, so it is not empty on a machine with no sound card.
    package static func list() throws(ALSAError) -> [PCMDeviceInfo] {
        var hints: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
        _ = try ALSAError.check(snd_device_name_hint(-1, "pcm", &hints), "snd_device_name_hint", device: nil)
        guard let hints else { return [] }
        defer { snd_device_name_free_hint(hints) }
        var devices: [PCMDeviceInfo] = []
        var index = 0
        while let hint = hints[index] {
            index += 1
            guard let name = hintField(hint, "NAME") else { continue }
            let direction = hintField(hint, "IOID")  // nil: both directions
            devices.append(PCMDeviceInfo(
                name: name, description: hintField(hint, "DESC") ?? "",
                canCapture: direction == nil || direction == "Input",
                canPlay: direction == nil || direction == "Output"))
        }
        return devices
    }

    /// The sound cards present (`snd_card_next` from -1); empty on a machine without one.
    package static func soundCards() -> [SoundCard] {
        var cards: [SoundCard] = []
        var card: Int32 = -1
        while snd_card_next(&card) >= 0, card >= 0 {
            var name: UnsafeMutablePointer<CChar>?
            var longName: UnsafeMutablePointer<CChar>?
            _ = snd_card_get_name(card, &name)
            _ = snd_card_get_longname(card, &longName)
            cards.append(SoundCard(index: Int(card), name: name.map { String(cString: $0) } ?? "", longName: longName.map { String(cString: $0) } ?? ""))
            free(name)
            free(longName)
        }
        return cards
    }

    /// Wraps `snd_device_name_get_hint`, which returns a malloc'ed string we free.
    private static func hintField(_ hint: UnsafeMutableRawPointer, _ field: String) -> String? {
        guard let value = snd_device_name_get_hint(hint, field) else { return nil }
        defer { free(value) }
        return String(cString: value)
    }
}
