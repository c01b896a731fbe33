import Testing
@testable import Server

@Test func messageKindsFollowKyutaisNumbering() {
    #expect(MessageKind.allCases.count >= 7)
}
