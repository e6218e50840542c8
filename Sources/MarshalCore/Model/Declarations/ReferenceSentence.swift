/// A sentence of a step kind's reference page: where the kind runs, or how it is undone. The
/// sentences several kinds share are named here, so that every page says the same thing alike.
public struct ReferenceSentence: Sendable, Hashable, ExpressibleByStringLiteral {
    public var text: String

    public init(stringLiteral text: String) { self.text = text }

    public static let onEachHost: ReferenceSentence = "On each host of the batch (or the `on:` hosts)."
    public static let onEachHostUsuallyDB: ReferenceSentence = "On each host of the batch, or usually once `on: db`."
    public static let onThisMachinePerBatch: ReferenceSentence = "On this machine, once per batch."

    /// The default: any step may have an `undo` step, and a kind with no undo of its own has just that.
    public static let byItsUndoStep: ReferenceSentence = "Only what its `undo` step does."
    public static let changesNothing: ReferenceSentence = "None: it changes nothing."
}
