import ArgumentParser

/// `moshi devices`: ALSA capture and playback devices.
struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "devices", abstract: "List ALSA capture and playback devices.")
    func run() throws { throw ValidationError("not built yet") }
}
