"""The editor's player: QtMultimedia (PySide6-Addons) behind a small seam, and its controls.

`Player` is the only place that touches QMediaPlayer: the window talks to it in seconds
and listens to `position` (seconds) and `video` (whether the source has a picture).
Tests drive the real QMediaPlayer's position (no sound device is needed: Qt's FFmpeg
backend decodes without one, and the sound output is only made at the first Play). A source that cannot be played leaves the transcript fully
editable: the error is one line in the window's status bar.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, QUrl, Signal
from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSlider, QWidget

SKIP_S = 5.0
SPEEDS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)


def clock(seconds: float) -> str:
    seconds = max(0.0, seconds)
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Player(QObject):
    position = Signal(float)  # seconds, as playback moves or after a seek
    duration = Signal(float)
    video = Signal(bool)  # the source has a picture
    playing = Signal(bool)
    failed = Signal(str)  # one line

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.media = QMediaPlayer(self)
        # The sound output is made at the first Play: reading, seeking and editing need no
        # sound device (a machine without one only logs a warning then, not at opening).
        self.audio: QAudioOutput | None = None
        self.media.positionChanged.connect(lambda ms: self.position.emit(ms / 1000.0))
        self.media.durationChanged.connect(lambda ms: self.duration.emit(ms / 1000.0))
        self.media.hasVideoChanged.connect(self.video.emit)
        self.media.playbackStateChanged.connect(
            lambda state: self.playing.emit(state == QMediaPlayer.PlaybackState.PlayingState))
        self.media.errorOccurred.connect(lambda _error, text: self.failed.emit(text or "cannot play the source"))

    def load(self, source: Path | None) -> None:
        self.media.setSource(QUrl.fromLocalFile(str(source)) if source is not None else QUrl())

    @property
    def loaded(self) -> bool:
        return self.media.mediaStatus() in (QMediaPlayer.MediaStatus.LoadedMedia,
                                            QMediaPlayer.MediaStatus.BufferedMedia,
                                            QMediaPlayer.MediaStatus.EndOfMedia)

    def seconds(self) -> float:
        return self.media.position() / 1000.0

    def seek(self, seconds: float) -> None:
        self.media.setPosition(max(0, int(round(seconds * 1000))))

    def skip(self, seconds: float) -> None:
        self.seek(self.seconds() + seconds)

    def toggle(self) -> None:
        if self.media.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            self.media.pause()
        else:
            if self.audio is None:
                self.audio = QAudioOutput(self)
                self.media.setAudioOutput(self.audio)
            self.media.play()

    def set_speed(self, rate: float) -> None:
        self.media.setPlaybackRate(rate)

    def stop(self) -> None:
        self.media.stop()
        self.media.setSource(QUrl())  # releases the file (Windows would keep it locked)


class PlayerBar(QWidget):
    """Play/pause, back and forward 5 s, speed, position slider and time."""

    def __init__(self, player: Player, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.player = player
        self.play_button = QPushButton("Play")
        self.back_button = QPushButton(f"-{SKIP_S:g} s")
        self.forward_button = QPushButton(f"+{SKIP_S:g} s")
        self.speed = QComboBox()
        for rate in SPEEDS:
            self.speed.addItem(f"{rate:g}x", rate)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.time_label = QLabel("0:00 / 0:00")
        self._length = 0.0
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for w in (self.back_button, self.play_button, self.forward_button, self.speed):
            row.addWidget(w)
        row.addWidget(self.slider, 1)
        row.addWidget(self.time_label)
        self.play_button.clicked.connect(player.toggle)
        self.back_button.clicked.connect(lambda: player.skip(-SKIP_S))
        self.forward_button.clicked.connect(lambda: player.skip(SKIP_S))
        self.speed.currentIndexChanged.connect(lambda i: player.set_speed(self.speed.itemData(i)))
        # Seek while dragging, so the highlighted word follows the thumb.
        self.slider.sliderMoved.connect(lambda ms: player.seek(ms / 1000.0))
        player.duration.connect(self._on_duration)
        player.position.connect(self._on_position)
        player.playing.connect(lambda on: self.play_button.setText("Pause" if on else "Play"))

    def _on_duration(self, seconds: float) -> None:
        self._length = seconds
        self.slider.setRange(0, int(seconds * 1000))
        self._on_position(self.player.seconds())

    def _on_position(self, seconds: float) -> None:
        if not self.slider.isSliderDown():
            self.slider.setValue(int(seconds * 1000))
        self.time_label.setText(f"{clock(seconds)} / {clock(self._length)}")
