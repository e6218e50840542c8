// MarshalSSH module.
