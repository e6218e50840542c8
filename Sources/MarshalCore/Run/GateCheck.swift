/// Holds a measured value to its expectation with the three outcomes of a gate: passed, failed,
/// inconclusive (no data). What an inconclusive gate does to the run is `on_no_data`'s choice.
public enum GateCheck {
    public struct Verdict: Sendable {
        public var status: StepOutcome.Status
        public var outcome: MeasurementRecord.Outcome
        public var message: String
    }

    public static func evaluate(_ expect: Expression?, in scope: some ExpressionScope, onNoData: NoDataPolicy,
                                what: String) -> Verdict {
        guard let expect else { return Verdict(status: .succeeded, outcome: .passed, message: "\(what): no expectation") }
        let explained = expect.explain(in: scope)
        do {
            if try expect.test(in: scope) {
                return Verdict(status: .succeeded, outcome: .passed, message: "\(what) passed: \(explained)")
            }
            return Verdict(status: .failed, outcome: .failed, message: "\(what) failed: \(explained)")
        } catch .noData(let name) {
            return noData("\(what): no data (\(name))", onNoData: onNoData)
        } catch {
            return Verdict(status: .failed, outcome: .error, message: "\(what) could not be evaluated: \(error)")
        }
    }

    public static func noData(_ message: String, onNoData: NoDataPolicy) -> Verdict {
        switch onNoData {
        case .fail: Verdict(status: .inconclusive, outcome: .inconclusive, message: "\(message) (inconclusive: no data; on_no_data: fail)")
        case .pause: Verdict(status: .paused, outcome: .inconclusive, message: "\(message) (inconclusive: no data; paused for approval)")
        case .pass: Verdict(status: .succeeded, outcome: .inconclusive, message: "\(message) (inconclusive: no data; on_no_data: pass)")
        }
    }
}
