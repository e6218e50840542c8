import Foundation

/// A regular expression search with a time budget. ICU (behind NSRegularExpression) backtracks,
/// so a pattern like `(a+)+$` takes exponential time on a near-miss; with `.reportProgress` ICU
/// calls back periodically during a long match and the search is stopped once the budget is spent,
/// instead of holding a step far past its timeout.
public enum BoundedRegex {
    /// Long enough for any sane pattern over command output; short against a step's timeout.
    public static let defaultBudget: Duration = .seconds(1)

    public enum Result {
        case match(NSTextCheckingResult)
        case noMatch
        /// The search was abandoned after `budget`.
        case overBudget(Duration)
    }

    public static func firstMatch(_ regex: NSRegularExpression, in text: String, budget: Duration = defaultBudget) -> Result {
        // The machine's own clock, not the run's `Clock`: this budgets CPU spent inside one
        // synchronous ICU call, which a manual test clock could never stop.
        let clock = ContinuousClock()
        let deadline = clock.now + budget
        var found: NSTextCheckingResult?
        var gaveUp = false
        regex.enumerateMatches(in: text, options: [.reportProgress], range: NSRange(text.startIndex..., in: text)) { match, _, stop in
            if let match {
                found = match
                stop.pointee = true
            } else if clock.now >= deadline {
                gaveUp = true
                stop.pointee = true
            }
        }
        if let found { return .match(found) }
        return gaveUp ? .overBudget(budget) : .noMatch
    }

    /// The operator-facing reason for a search given up.
    public static func overBudgetMessage(_ pattern: String, budget: Duration, length: Int) -> String {
        "regular expression /\(pattern)/ was still searching \(length) characters after \(budget.secondsText) "
            + "(nested repetition such as (a+)+ backtracks exponentially); simplify the pattern"
    }
}
