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
}
