/// What a step does: one kind's settings, behind the `StepKindPlugin` protocol so the engine asks
/// the kind instead of switching over a list of kinds.
public struct StepKind: Sendable, Hashable {
    public let plugin: any StepKindPlugin

    public init(_ plugin: any StepKindPlugin) { self.plugin = plugin }

    /// The kind's settings as a concrete type, when it is that kind.
    public func `as`<K: StepKindPlugin>(_ type: K.Type) -> K? { plugin as? K }

    public func `is`<K: StepKindPlugin>(_ type: K.Type) -> Bool { plugin is K }

    public var name: String { plugin.kindName }
    public var isApprove: Bool { plugin is ApproveStep }
    public var canBeApproved: Bool { plugin.canBeApproved }
    public var isReadOnly: Bool { plugin.isReadOnly }
    public var acceptsUndo: Bool { plugin.acceptsUndo }
    public var runsCommandOnHost: Bool { plugin.runsCommandOnHost }
    public var runsFromController: Bool { plugin.runsFromController }

    public static func == (a: StepKind, b: StepKind) -> Bool { AnyHashable(a.plugin) == AnyHashable(b.plugin) }
    public func hash(into hasher: inout Hasher) { hasher.combine(AnyHashable(plugin)) }
}
