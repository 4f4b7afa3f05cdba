"""Lock handling: which errors are locks, one retry policy, diagnosis of the holder.

No Qt here. Everything that renames, deletes or writes a file another process may hold
(Windows scanners and sync clients) goes through `FileOps`.
"""
