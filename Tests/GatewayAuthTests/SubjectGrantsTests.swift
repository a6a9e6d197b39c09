import GatewayAuth
import Testing
import XYCore

@Suite("Subject grants")
struct SubjectGrantsTests {
    func expectDenied(_ subject: String, _ grants: SubjectGrants, message: String) {
        do {
            try grants.authorize(subject)
            Issue.record("accepted \(String(reflecting: subject))")
        } catch {
            #expect(error.code == .subjectDenied)
            #expect(error.code.rawValue == "XYW002")
            #expect(error.message == message, "\(String(reflecting: subject)): \(error.reason)")
        }
    }

    @Test("malformed client subjects: spaces, CR/LF, tabs, empty tokens, >, partial wildcards, too long", arguments: [
        "", " ", "xy.md.tick demo", "xy.md.tick.demo ", "xy.md.tick.demo\r\nPUB x 1", "xy.md.tick\n", "xy.md.\ttick",
        "xy.md..demo", ".xy.md.tick", "xy.md.tick.", "xy.md.>", "xy.md.tick.>", ">", "xy.md.tick.de>mo", "xy.md.ti*ck",
        "xy.md.tïck", "xy.md.\u{0}", "xy.md." + String(repeating: "a", count: 300),
    ])
    func malformed(subject: String) {
        expectDenied(subject, SubjectGrants(grants: ["xy.>"]), message: "malformed subject")
        #expect(!SubjectGrants.isValidClientSubject(subject))
    }

    @Test("the whitelist is matched from the start of the subject")
    func whitelist() throws {
        let grants = SubjectGrants(grants: nil)
        try grants.authorize("xy.md.tick.demo")
        try grants.authorize("xy.md.snapshot.demo")
        try grants.authorize("xy.md.tick.*")
        try grants.authorize("xy.md.*")
        try grants.authorize("xy.md.bar.AAPL")
        expectDenied("xy.md", grants, message: "subject denied")
        expectDenied("xy.ctl.upstream.subscribe", grants, message: "subject denied")
        expectDenied("a.xy.md.tick", grants, message: "subject denied")
        expectDenied("*.md.tick.demo", grants, message: "subject denied")
        expectDenied("xy.*.tick.demo", grants, message: "subject denied")
        expectDenied("$KV.xy_feature_flags.x", grants, message: "subject denied")

        let narrow = SubjectGrants(whitelist: ["xy.md.tick.*", "xy.md.snapshot.*"], grants: nil)
        try narrow.authorize("xy.md.tick.demo")
        try narrow.authorize("xy.md.snapshot.*")
        expectDenied("xy.md.bar.AAPL", narrow, message: "subject denied")
        expectDenied("xy.md.*.demo", narrow, message: "subject denied")
    }

    @Test("grants are NATS patterns that must cover every subject the client's subject can match")
    func grantsCover() throws {
        let wide = SubjectGrants(grants: ["xy.md.>"])
        try wide.authorize("xy.md.tick.*")
        try wide.authorize("xy.md.tick.demo")

        let star = SubjectGrants(grants: ["xy.md.tick.*"])
        try star.authorize("xy.md.tick.*")
        try star.authorize("xy.md.tick.demo")
        expectDenied("xy.md.tick.demo.extra", star, message: "subject denied")
        expectDenied("xy.md.snapshot.demo", star, message: "subject denied")

        let exact = SubjectGrants(grants: ["xy.md.tick.demo", "xy.md.snapshot.demo"])
        try exact.authorize("xy.md.tick.demo")
        try exact.authorize("xy.md.snapshot.demo")
        expectDenied("xy.md.tick.*", exact, message: "subject denied")
        expectDenied("xy.md.*.demo", exact, message: "subject denied")
        expectDenied("xy.md.tick.other", exact, message: "subject denied")

        // A grant wider than the whitelist does not widen it.
        let everything = SubjectGrants(grants: [">"])
        try everything.authorize("xy.md.tick.demo")
        expectDenied("xy.session.connected", everything, message: "subject denied")

        // No grants at all: nothing.
        expectDenied("xy.md.tick.demo", SubjectGrants(grants: []), message: "subject denied")
        // An invalid grant pattern grants nothing.
        expectDenied("xy.md.tick.demo", SubjectGrants(grants: ["xy.md. tick.demo", "xy.>.tick"]), message: "subject denied")
    }

    @Test("pattern coverage, token by token")
    func coverage() {
        #expect(SubjectGrants.pattern("xy.md.>", covers: "xy.md.tick.*"))
        #expect(SubjectGrants.pattern("xy.md.tick.*", covers: "xy.md.tick.*"))
        #expect(!SubjectGrants.pattern("xy.md.tick.demo", covers: "xy.md.tick.*"))
        #expect(SubjectGrants.pattern("xy.*.tick.demo", covers: "xy.md.tick.demo"))
        #expect(SubjectGrants.pattern("xy.*.tick.demo", covers: "xy.*.tick.demo"))
        #expect(!SubjectGrants.pattern("xy.md.>", covers: "xy.md"))
        #expect(!SubjectGrants.pattern("xy.md.*", covers: "xy.md.tick.demo"))
        #expect(!SubjectGrants.pattern("xy.md.tick.demo", covers: "xy.md.tick"))
        #expect(!SubjectGrants.pattern("xy.md.>", covers: "xy.md.>"), "a client subject never contains >")
        #expect(SubjectGrants.isValidPattern("xy.md.>"))
        #expect(!SubjectGrants.isValidPattern("xy.>.md"))
        #expect(!SubjectGrants.isValidPattern("xy..md"))
    }

    @Test("claims give the grants of a connection")
    func fromClaims() throws {
        let claims = GatewayClaims(
            subject: "bob", grants: ["xy.md.tick.demo"], maxSubscriptions: nil, roles: [], issuer: nil, audience: [],
            expiresAt: .distantFuture, notBefore: nil, keyID: nil, algorithm: "ES256")
        let grants = claims.subjectGrants()
        try grants.authorize("xy.md.tick.demo")
        expectDenied("xy.md.tick.other", grants, message: "subject denied")
    }
}
