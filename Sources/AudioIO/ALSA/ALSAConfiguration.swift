import CALSA

/// An ALSA configuration tree built from text (`snd_config_top`, `snd_config_load`, freed with
/// `snd_config_delete`), to open PCMs with `snd_pcm_open_lconf` instead of the process-wide
/// configuration that alsa-lib reads once from /usr/share/alsa/alsa.conf and ~/.asoundrc.
///
/// Tests use it to define `file` and `null` plugin devices (a fake microphone reading a raw
/// file, a speaker writing one) without touching the environment or HOME. Only what the text
/// defines exists: write plugin slaves inline (`slave.pcm { type null }`).
package final class ALSAConfiguration: @unchecked Sendable {  // immutable once loaded
    let handle: OpaquePointer

    /// Parses `text` in ALSA's configuration syntax (`pcm.name { type ... }`).
    package init(text: String) throws(ALSAError) {
        var top: OpaquePointer?
        _ = try ALSAError.check(snd_config_top(&top), "snd_config_top", device: nil)
        guard let top else { throw ALSAError(call: "snd_config_top", code: -12, device: nil) }
        var input: OpaquePointer?
        let opened = text.withCString { snd_input_buffer_open(&input, $0, -1) }
        guard opened >= 0, let input else {
            snd_config_delete(top)
            throw ALSAError(call: "snd_input_buffer_open", code: opened < 0 ? opened : -12, device: nil)
        }
        let loaded = snd_config_load(top, input)
        snd_input_close(input)
        guard loaded >= 0 else {
            snd_config_delete(top)
            throw ALSAError(call: "snd_config_load", code: loaded, device: nil)
        }
        handle = top
    }

    deinit { snd_config_delete(handle) }
}
