"""A transcript as a document: the transcript plus what a person adds to it.

`TranscriptDocument` is a `Transcript` (so every exporter renders it unchanged) with a
speakers table (id -> display name), the speaker of each segment and the options the
transcription ran with. The JSON export is its file form (export/json_format.py,
export/json_read.py); the editor edits it.

Documents are values: an edit makes a new document with `dataclasses.replace` and never
changes one in place, so undo can keep the before and after of each step for free.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from nemo_desk.core.transcript import Segment, Transcript


@dataclass(frozen=True)
class Speaker:
    id: str  # stable key segments refer to ("S1"); never shown
    name: str  # what the user sees and exports show ("Speaker 1", "Interviewer")


@dataclass
class TranscriptDocument(Transcript):
    speakers: tuple[Speaker, ...] = ()
    # One entry per segment: a speaker id from `speakers`, or None (nobody assigned).
    # Shorter than `segments` means the rest have no speaker.
    segment_speakers: tuple[str | None, ...] = ()
    # What the transcription was asked for (language, punctuation, chunking...), as data.
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, transcript: Transcript, **changes: Any) -> "TranscriptDocument":
        """A document of `transcript` (itself when it already is one and nothing changes)."""
        if isinstance(transcript, TranscriptDocument) and not changes:
            return transcript
        base = {f.name: getattr(transcript, f.name) for f in dataclasses.fields(Transcript)}
        if isinstance(transcript, TranscriptDocument):
            base.update(speakers=transcript.speakers, segment_speakers=transcript.segment_speakers,
                        options=transcript.options)
        base.update(changes)
        base["segments"] = list(base["segments"])
        return cls(**base)

    def with_segments(self, segments: list[Segment], segment_speakers: tuple[str | None, ...]) -> "TranscriptDocument":
        return dataclasses.replace(self, segments=list(segments), segment_speakers=tuple(segment_speakers))

    def speaker_id(self, index: int) -> str | None:
        return self.segment_speakers[index] if index < len(self.segment_speakers) else None

    def speaker_name(self, index: int) -> str:
        """Display name of segment `index`'s speaker; "" when it has none."""
        sid = self.speaker_id(index)
        return next((s.name for s in self.speakers if s.id == sid), "") if sid else ""

    def padded_speakers(self) -> tuple[str | None, ...]:
        """`segment_speakers` with exactly one entry per segment."""
        n = len(self.segments)
        return (tuple(self.segment_speakers) + (None,) * n)[:n]
