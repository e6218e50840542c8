import MarshalCore

// Foundation also declares an `Expression`; inside this module the name means Marshal's.
typealias Expression = MarshalCore.Expression
