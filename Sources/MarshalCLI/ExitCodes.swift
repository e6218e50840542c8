import ArgumentParser

/// Exit codes of the contract (DESIGN.md): 0 success, 1 a step or gate failed, 2 invalid input, 3 could not start.
extension ExitCode {
    static let stepFailed = ExitCode(1)
    static let invalidInput = ExitCode(2)
    static let couldNotStart = ExitCode(3)
}
