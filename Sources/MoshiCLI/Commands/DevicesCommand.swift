import ArgumentParser
import AudioIO

/// `moshi devices`: the ALSA capture and playback devices, with the names to pass to
/// `--input-device` / `--output-device` as ALSA knows them (`snd_device_name_hint`), and the
/// sound cards present. On a machine without a sound card it says so.
struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List ALSA capture and playback devices.",
        discussion: "Names are as ALSA knows them (the same as `arecord -L` / `aplay -L`); pass one to the commands that open a device."
    )

    func run() throws {
        print(try Self.listing(devices: PCMDevice.list(), cards: PCMDevice.soundCards()), terminator: "")
    }

    /// The printed text: sound cards, then capture devices, then playback devices.
    static func listing(devices: [PCMDeviceInfo], cards: [SoundCard]) -> String {
        var text = ""
        if cards.isEmpty {
            text += "No sound cards found: only ALSA's virtual devices are available.\n"
        } else {
            text += "Sound cards:\n"
            for card in cards { text += "  \(card.index): \(card.name) (\(card.longName))\n" }
        }
        for (title, selected) in [("Capture devices", devices.filter(\.canCapture)), ("Playback devices", devices.filter(\.canPlay))] {
            text += "\n\(title):\n"
            if selected.isEmpty { text += "  (no devices)\n" }
            for device in selected {
                text += "  \(device.name)\n"
                for line in device.description.split(separator: "\n") { text += "      \(line)\n" }
            }
        }
        return text
    }
}
