"""Plain data and primitives shared by every layer. No Qt, no torch, no NeMo here."""
