/// What a gate that measured nothing does to the run.
public enum NoDataPolicy: String, Sendable, Hashable, CaseIterable { case fail, pause, pass }
