import Foundation
@testable import MarshalCore
import Testing

@Suite("Gate labels in the journal")
struct GateLabelsTests {
    @Test("A label joins the measurement's JSON payload without losing a field; with no payload it is the payload; a payload that is not an object is left alone")
    func merge() throws {
        let merged = GateLabels.merge("Service health", into: #"{"attempt":1,"status":200,"message":"ok"}"#)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(merged.utf8)) as? [String: Any])
        #expect(object["label"] as? String == "Service health" && object["status"] as? Int == 200 && object["message"] as? String == "ok")
        #expect(GateLabels.merge("Cache hit rate", into: nil) == #"{"label":"Cache hit rate"}"#)
        #expect(GateLabels.merge("x", into: "[1,2]") == "[1,2]")
    }

    @Test("A labelled gate inside a soak labels what it measured (the metric's value), never the soak's own row, whose value is the time of the check")
    func soakGateLabel() throws {
        let at = SourceLocation(file: "r.yml", line: 1, column: 1)
        var gate = Step(name: "5xx share", kind: .metric(MetricStep(prometheus: TemplateString("http://p", at: at),
                                                                  query: TemplateString("q", at: at), expect: nil)), location: at)
        gate.label = "Share of 5xx answers"
        let soak = Step(name: "Watch", kind: .soak(SoakStep(duration: .seconds(10), interval: .seconds(5), gates: [gate])), location: at)
        let metric = StepOutcome.Measurement(kind: .metric, name: "5xx share", value: 0.01, unit: nil)
        let soakRow = StepOutcome.Measurement(kind: .soak, name: "5xx share", value: 5.0, unit: "s")
        let inner = GateLabels.apply(gate, to: [metric])
        #expect(inner[0].payloadJSON?.contains("Share of 5xx answers") == true)
        let outer = GateLabels.apply(soak, to: [soakRow] + inner)
        #expect(outer[0].payloadJSON?.contains("label") != true)
        #expect(outer[1].payloadJSON?.contains("Share of 5xx answers") == true)
    }
}
