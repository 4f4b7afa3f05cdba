"""The transcript as readable paragraphs: one per segment, with its time and speaker.

Read-only on purpose: text is changed in the segment editor below it, one segment at a
time, so every change goes through the undo stack and keeps word times (a free-typing
rich-text widget would have its own undo and lose which word is which). The view knows
where each word sits in its text, so a click maps to a word (and the player seeks
there), and the word being played is highlighted and kept in view.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from html import escape

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QColor, QTextCursor, QTextFormat
from PySide6.QtWidgets import QTextEdit

from nemo_desk.core.document import TranscriptDocument
from nemo_desk.document.edits import word_offsets
from nemo_desk.gui.editor_player import clock

_PLAYING = QColor("#ffe082")
_FOUND = QColor("#90caf9")
_CURRENT = QColor("#eef3fb")


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class WordSpan:
    start: int  # character positions in the view's text
    end: int
    segment: int
    word: int
    seconds: float  # the word's start time


class TranscriptView(QTextEdit):
    word_clicked = Signal(int, int, float)  # segment, word, start seconds
    segment_clicked = Signal(int, int)  # segment, character offset in its text
    play_pause = Signal()  # Space pressed in the transcript

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setUndoRedoEnabled(False)
        self.spans: list[WordSpan] = []
        self._span_starts: list[int] = []
        self._by_time: list[WordSpan] = []
        self._times: list[float] = []
        self.text_starts: list[int] = []  # where each segment's own text begins
        self.playing: WordSpan | None = None
        self._found: tuple[int, int] | None = None
        self._current = -1

    # -- content -----------------------------------------------------------------------
    def show_document(self, document: TranscriptDocument) -> None:
        # One setHtml for the whole document, not a cursor insert per piece: much faster for
        # long transcripts, and PySide6 6.12 on Python 3.11 drops a reference to None in
        # every void call (thousands of calls abort the process). Positions are counted
        # here: each paragraph is "time  [speaker: ]text" plus one separator character, in
        # UTF-16 code units as Qt counts them (an emoji is two).
        scroll = self.verticalScrollBar().value()
        parts: list[str] = []
        self.spans, self.text_starts = [], []
        position = 0
        for i, seg in enumerate(document.segments):
            stamp = f"{clock(seg.start)}  "
            name = document.speaker_name(i)
            label = f"{name}: " if name else ""
            start = position + _units(stamp) + _units(label)
            self.text_starts.append(start)
            for j, off in enumerate(word_offsets(seg)):
                w = seg.words[j]
                at = start + _units(seg.text[:off])
                self.spans.append(WordSpan(at, at + _units(w.text), i, j, w.start))
            parts.append(f'<p style="white-space:pre-wrap"><span style="color:#777777">{escape(stamp)}</span>'
                         f"<b>{escape(label)}</b>{escape(seg.text)}</p>")
            position = start + _units(seg.text) + 1
        self.setHtml("".join(parts))
        self._span_starts = [s.start for s in self.spans]
        self._by_time = sorted(self.spans, key=lambda s: s.seconds)
        self._times = [s.seconds for s in self._by_time]
        self.playing, self._found = None, None
        self.verticalScrollBar().setValue(scroll)
        self._paint()

    def span_at(self, position: int) -> WordSpan | None:
        i = bisect.bisect_right(self._span_starts, position) - 1
        if i >= 0 and self.spans[i].start <= position < self.spans[i].end:
            return self.spans[i]
        return None

    def segment_at(self, position: int) -> int:
        return max(0, bisect.bisect_right(self.text_starts, position) - 1) if self.text_starts else -1

    def word_rect(self, segment: int, word: int) -> QRect:
        """Where a word is drawn, in viewport coordinates (for clicks, in tests too)."""
        span = next(s for s in self.spans if (s.segment, s.word) == (segment, word))
        cursor = QTextCursor(self.document())
        cursor.setPosition(span.start + (span.end - span.start) // 2)
        return self.cursorRect(cursor)

    # -- keys and clicks ------------------------------------------------------------------------
    def keyPressEvent(self, event) -> None:
        # A read-only text view scrolls on Space; here Space plays and pauses, as in players.
        if event.key() == Qt.Key.Key_Space and not event.modifiers():
            self.play_pause.emit()
            event.accept()
            return
        super().keyPressEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        super().mouseReleaseEvent(event)
        if self.textCursor().hasSelection():
            return  # the user is selecting text to copy, not seeking
        position = self.cursorForPosition(event.position().toPoint()).position()
        segment = self.segment_at(position)
        if segment >= 0:
            self.segment_clicked.emit(segment, max(0, position - self.text_starts[segment]))
        span = self.span_at(position)
        if span is not None:
            self.word_clicked.emit(span.segment, span.word, span.seconds)

    # -- highlights -------------------------------------------------------------------------
    def highlight_time(self, seconds: float) -> WordSpan | None:
        """Highlight the word being spoken at `seconds` (the last one started) and keep it
        in view; returns it."""
        i = bisect.bisect_right(self._times, seconds + 1e-6) - 1
        span = self._by_time[i] if i >= 0 else None
        if span != self.playing:
            self.playing = span
            self._paint()
            if span is not None:
                self._keep_in_view(span.start)
        return span

    def show_found(self, segment: int, offset: int, length: int) -> None:
        start = self.text_starts[segment] + offset
        self._found = (start, start + length)
        self._paint()
        self._keep_in_view(start)

    def set_current(self, segment: int) -> None:
        self._current = segment
        self._paint()

    def _keep_in_view(self, position: int) -> None:
        cursor = QTextCursor(self.document())
        cursor.setPosition(position)
        rect, view = self.cursorRect(cursor), self.viewport().rect()
        if rect.top() < view.top() or rect.bottom() > view.bottom():
            bar = self.verticalScrollBar()
            bar.setValue(bar.value() + rect.top() - view.height() // 3)

    def _selection(self, start: int, end: int, colour: QColor, full_line: bool = False) -> QTextEdit.ExtraSelection:
        sel = QTextEdit.ExtraSelection()
        cursor = QTextCursor(self.document())
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        sel.cursor = cursor
        sel.format.setBackground(colour)
        if full_line:
            sel.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
        return sel

    def _paint(self) -> None:
        selections = []
        if 0 <= self._current < len(self.text_starts):
            block = self.document().findBlockByNumber(self._current)
            selections.append(self._selection(block.position(), block.position(), _CURRENT, full_line=True))
        if self._found is not None:
            selections.append(self._selection(*self._found, _FOUND))
        if self.playing is not None:
            selections.append(self._selection(self.playing.start, self.playing.end, _PLAYING))
        self.setExtraSelections(selections)
