// MarshalHTTP module.
