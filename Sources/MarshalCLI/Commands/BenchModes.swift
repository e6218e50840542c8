import ArgumentParser
import MarshalCore

// The options of `marshal bench`'s two other modes, in the sections its --help shows; without
// either, it runs a closed loop (-c connections back to back, as wrk).
extension MarshalCommand.Bench {
    struct OpenLoopOptions: ParsableArguments {
        @Option(help: "Requests per second, started whatever the server does.")
        var rate: Double?

        @Option(help: "Requests pending at once before new ones are dropped.")
        var maxInFlight: Int = 1000
    }

    struct VirtualUserOptions: ParsableArguments {
        @Option(help: "Virtual users, each waiting --think-time between an answer and its next request.")
        var users: Int?

        @Option(help: "Pause between an answer and the user's next request.")
        var thinkTime: String = "1s"

        @Option(help: "Start the users evenly over this time (0s: all at once).")
        var rampUp: String = "0s"

        /// The users to run for `duration`, or nil when --users was not given.
        func plan(duration: Duration) throws -> LoadPlan.Users? {
            guard let users else { return nil }
            guard let think = DurationText.parse(thinkTime), think >= .zero else {
                throw InputError(description: "--think-time \(thinkTime) is not a duration such as 1s or 500ms")
            }
            guard let ramp = DurationText.parse(rampUp), ramp >= .zero else {
                throw InputError(description: "--ramp-up \(rampUp) is not a duration such as 10s")
            }
            return LoadPlan.Users(count: users, thinkTime: think, duration: duration, rampUp: ramp)
        }
    }
}
