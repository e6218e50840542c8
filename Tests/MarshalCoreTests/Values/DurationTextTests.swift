import MarshalCore
import Testing

@Suite("Durations in files")
struct DurationTextTests {
    @Test("units and combinations parse to the right length")
    func parse() {
        #expect(DurationText.parse("500ms") == .milliseconds(500))
        #expect(DurationText.parse("30s") == .seconds(30))
        #expect(DurationText.parse("2m") == .seconds(120))
        #expect(DurationText.parse("1h30m") == .seconds(5400))
        #expect(DurationText.parse("1.5s") == .milliseconds(1500))
        #expect(DurationText.parse("10") == .seconds(10))
    }

    @Test("text that is not a duration is refused, not guessed", arguments: ["", "soon", "5x", "30 seconds", "-1s", "s", "1e99h"])
    func refuse(text: String) {
        #expect(DurationText.parse(text) == nil)
    }

    @Test("formatting picks the largest whole unit")
    func format() {
        #expect(DurationText.format(.seconds(60)) == "1m")
        #expect(DurationText.format(.seconds(90)) == "90s")
        #expect(DurationText.format(.milliseconds(250)) == "250ms")
    }
}
