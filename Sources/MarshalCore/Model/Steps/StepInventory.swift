/// Every template and expression a step holds, so validation can check each reference once.
extension Step {
    public var templates: [TemplateString] {
        var out: [TemplateString] = []
        switch kind {
        case .shell(let s): out += [s.command] + (s.chdir.map { [$0] } ?? [])
        case .upload(let u): out += [u.source, u.destination]
        case .release(let r): out += [r.artifact, r.path] + (r.releaseID.map { [$0] } ?? [])
        case .service(let s): out += [s.manager, s.name] + (s.config.map { [$0] } ?? [])
        case .migrate(let m): out += [m.directory, m.database]
        case .backup(let b): out += [b.database] + (b.to.map { [$0] } ?? [])
        case .restore(let r): out += [r.from] + (r.database.map { [$0] } ?? [])
        case .sql(let s): out += [s.query, s.database] + s.args.map(\.value)
        case .http(let h), .health(let h):
            out += [h.url] + h.headers.map(\.value)
            // String values expected at JSON paths may use templates ("$.release": "{{ params.release }}").
            out += h.expect.json.compactMap { if case .string(let text) = $0.value { TemplateString(text, at: $0.location) } else { nil } }
            if case .text(let body) = h.body { out.append(body) }
        case .benchmark(let b): out += [b.baseURL] + b.scenarios.flatMap { [$0.path] + $0.headers.values }
        case .probe(let p): out.append(p.command)
        case .metric(let m): out += [m.prometheus, m.query]
        case .soak(let s): out += s.gates.flatMap(\.templates)
        case .approve(let a): out += a.message.map { [$0] } ?? []
        case .notify(let n): out.append(n.url)
        case .wait, .include: break
        }
        out += templated.map(\.template)
        return out
    }

    public var expressions: [Expression] {
        var out: [Expression] = [when, until].compactMap { $0 }
        switch kind {
        case .sql(let s): out += s.expect.map { [$0] } ?? []
        case .probe(let p): out += p.expect.map { [$0] } ?? []
        case .metric(let m): out += m.expect.map { [$0] } ?? []
        case .http(let h), .health(let h): out += h.expect.condition.map { [$0] } ?? []
        case .benchmark(let b): out += b.thresholds.map(\.condition)
        case .soak(let s): out += s.gates.flatMap(\.expressions)
        default: break
        }
        return out
    }

    /// The step and its undo, for passes that must see both.
    public var withUndo: [Step] { [self] + (undoStep.map { [$0] } ?? []) }
}
