// MarshalJournal module.
