/// `notify`: a webhook POST with a JSON body, with a timeout; it never fails a run by itself.
struct Notifier {
    var http: any HTTPClient

    func send(_ step: NotifyStep, event: String, summary: String?, context: StepContext) async throws(StepFailure) -> StepOutcome {
        let url = try context.render(step.url)
        var body: ConfigValue
        if let custom = step.body {
            body = try JSONBody.render(custom, context: context)
        } else {
            body = .record(["event": .string(event), "run": .string(context.runId), "summary": .string(summary ?? "")])
        }
        if case .map(var entries) = body, !entries.contains(where: { $0.key == "event" }) {
            entries.append(ConfigEntry(key: "event", value: .string(event), location: .synthetic("notify")))
            body = .map(entries)
        }
        let request = HTTPRequest(method: "POST", url: url.plainValue, headers: [("Content-Type", "application/json")],
                                  body: Array(context.masker.mask(body.jsonText).utf8), timeout: step.timeout,
                                  connectTimeout: min(step.timeout, .seconds(5)))
        let display = "POST \(URLMask.display(url.plainDisplay)) (\(event))"
        do {
            let response = try await http.send(request)
            let ok = (200..<300).contains(response.status)
            return StepOutcome(status: ok ? .succeeded : .ignoredFailure,
                               message: ok ? "notified (\(response.status))" : "webhook answered \(response.status); the run goes on",
                               command: display)
        } catch {
            return StepOutcome(status: .ignoredFailure, message: "webhook failed: \(context.masker.mask(error.description)); the run goes on", command: display)
        }
    }
}
