// MarshalLoading module.
