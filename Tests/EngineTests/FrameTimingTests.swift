import Testing
@testable import Engine

@Test func frameIs80msAt24kHz() {
    #expect(FrameTiming.samplesPerFrame * 1000 / FrameTiming.sampleRate == 80)
    #expect(FrameTiming.frameDurationNanoseconds == 80_000_000)
}
