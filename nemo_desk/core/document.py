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
        elif any(_named_speaker(s) for s in transcript.segments):
            # Speakers named on the segments (the diarizer's "Speaker 1"...) become the
            # table, numbered in order of appearance; the segments keep only the ids, so a
            # rename in the table is the one place a name lives.
            per_segment = [_named_speaker(s) for s in transcript.segments]
            names = list(dict.fromkeys(n for n in per_segment if n))
            # The diarizer's own ids when it gave a table, else numbered by first appearance.
            known = {name: sid for sid, name in transcript.speaker_table.items()}
            ids = {name: known.get(name, f"S{i}") for i, name in enumerate(names, 1)}
            base.update(speakers=tuple(Speaker(ids[n], n) for n in names),
                        segment_speakers=tuple(ids[n] if n else None for n in per_segment),
                        segments=[_unnamed(s) for s in transcript.segments])
        base.update(changes)
        base["segments"] = list(base["segments"])
        return cls(**base)

    def named(self) -> Transcript:
        """The transcript as the other formats read it: each segment (and word) carries its
        speaker's display name from the table, so a rename shows in every export."""
        segments = []
        for i, seg in enumerate(self.segments):
            name = self.speaker_name(i) or seg.speaker
            words = tuple(dataclasses.replace(w, speaker=name) for w in seg.words)
            segments.append(dataclasses.replace(seg, speaker=name, words=words))
        base = {f.name: getattr(self, f.name) for f in dataclasses.fields(Transcript)}
        return Transcript(**{**base, "segments": segments})

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


def _unnamed(seg: Segment) -> Segment:
    return dataclasses.replace(seg, speaker=None, words=tuple(dataclasses.replace(w, speaker=None)
                                                              for w in seg.words))


def _named_speaker(seg: Segment) -> str | None:
    """The segment's speaker, or its words' when they all name the same one."""
    if seg.speaker:
        return seg.speaker
    names = {w.speaker for w in seg.words}
    return names.pop() if len(names) == 1 else None
