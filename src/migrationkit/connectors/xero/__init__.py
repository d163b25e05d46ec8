"""The xero connector: the Xero Accounting API as a source and a target, and its sandbox."""
