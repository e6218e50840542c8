/// Elapsed against planned time, once a second, for steps that wait by the clock: `wait`, `soak`,
/// and checks retried `within:` a time. (Load tests report their own, richer progress.)
enum ProgressTicker {
    static func start(for step: Step, ref: RunEvent.StepRef, observer: any RunObserver, clock: any Clock) -> Task<Void, Never>? {
        guard let total = step.kind.plugin.plannedDuration else { return nil }
        return Task {
            let start = clock.now
            while !Task.isCancelled {
                try? await clock.sleepBeside(for: .seconds(1))
                if Task.isCancelled { break }
                observer.handle(.progress(ref, StepProgress(elapsed: clock.elapsed(since: start).seconds, total: total.seconds)))
            }
        }
    }
}
