"""The transcript as an editable document: opening, saving, autosave and edits (no Qt)."""
