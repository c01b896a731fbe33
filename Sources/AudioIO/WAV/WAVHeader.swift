/// The bytes in front of a WAV file's samples: the RIFF header, the `fmt ` chunk and the `data`
/// chunk's header. One builder for `WAVFile` (whole files) and `WAVStreamWriter` (files written
/// as audio arrives, whose sizes are patched in at the end).
enum WAVHeader {
    /// The header for `dataSize` bytes of samples in `format`. The `fmt ` chunk is extensible
    /// when `extensible` is true, or when nil and there are more than 2 channels or more than 16
    /// bits. The RIFF size counts the pad byte an odd `dataSize` is followed by.
    static func bytes(format: WAVSampleFormat, channelCount: Int, sampleRate: Int, dataSize: Int, extensible: Bool? = nil) -> [UInt8] {
        let useExtensible = extensible ?? (channelCount > 2 || format.bitsPerSample > 16)
        let bytesPerSample = format.bitsPerSample / 8
        let fmtSize = useExtensible ? 40 : (format.isFloat ? 18 : 16)
        let formatTag: UInt16 = format.isFloat ? 3 : 1
        var bytes: [UInt8] = []
        bytes.reserveCapacity(28 + fmtSize)
        bytes += Array("RIFF".utf8)
        bytes.appendLittleEndian(UInt32(truncatingIfNeeded: 4 + (8 + fmtSize) + (8 + dataSize) + (dataSize & 1)))
        bytes += Array("WAVEfmt ".utf8)
        bytes.appendLittleEndian(UInt32(fmtSize))
        bytes.appendLittleEndian(useExtensible ? 0xFFFE : formatTag)
        bytes.appendLittleEndian(UInt16(channelCount))
        bytes.appendLittleEndian(UInt32(sampleRate))
        bytes.appendLittleEndian(UInt32(sampleRate * channelCount * bytesPerSample))
        bytes.appendLittleEndian(UInt16(channelCount * bytesPerSample))
        bytes.appendLittleEndian(UInt16(format.bitsPerSample))
        if useExtensible {
            bytes.appendLittleEndian(UInt16(22))                       // cbSize
            bytes.appendLittleEndian(UInt16(format.bitsPerSample))     // valid bits
            bytes.appendLittleEndian(UInt32(channelCount == 1 ? 0x4 : channelCount == 2 ? 0x3 : 0))  // speaker mask
            bytes.appendLittleEndian(formatTag)                        // SubFormat GUID: tag-0000-0010-8000-00aa00389b71
            bytes += [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]
        } else if format.isFloat {
            bytes.appendLittleEndian(UInt16(0))                        // cbSize
        }
        bytes += Array("data".utf8)
        bytes.appendLittleEndian(UInt32(truncatingIfNeeded: dataSize))
        return bytes
    }

    /// The largest `dataSize` a RIFF file can describe (its sizes are 32-bit).
    static let maximumDataSize = Int(UInt32.max) - 80
}
