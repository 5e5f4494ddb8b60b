"""Saved views of the list pages (Sell's "smart lists", docs/rules.md#saved-views): a list's
filters, sort, columns and row density under a name, for the owner or shared with the team."""
