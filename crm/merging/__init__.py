"""Merging records of one kind (docs/rules.md#merge-records), undoable exactly
(docs/rules.md#merge-undo): the ``Merge`` record and the set-based engine that the contacts and
the leads merges share. The engine knows no app above ``crm``: it moves every row that points at
a merged record by introspection (foreign keys, many-to-many tables) and the attached notes,
documents, tasks and document links (generic relations)."""
