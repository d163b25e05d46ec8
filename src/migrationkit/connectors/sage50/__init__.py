"""The sage50-json connector: a Sage 50 Accounts (UK) company export."""
