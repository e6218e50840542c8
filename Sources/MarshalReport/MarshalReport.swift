// MarshalReport module.
