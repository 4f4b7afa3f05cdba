"""Synthetic speech with exact word times, from espeak-ng.

Each word is spoken on its own by espeak-ng, trimmed to its audible part, resampled to
16 kHz and joined to the next with a known stretch of silence, so every word's true
start and end (in seconds) are known to the sample. A "speaker" is one espeak-ng voice
and variant at one speed and pitch; its words are synthesised once (a clip bank) and
reused for many utterances.

Used both to train the tiny model (tools/train_tiny/train.py) and by the tests that
check the real pipeline against ground truth (tests/test_trained_model.py), so the
recipe lives in one place. Everything is seeded: the same seed gives the same audio.
"""
from __future__ import annotations

import shutil
import subprocess
import wave
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

SAMPLE_RATE = 16000
ESPEAK_RATE = 22050

DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "oh"]
COMMON = ["hello", "world", "yes", "no", "okay", "please", "stop", "go", "and", "the", "is",
          "this", "at", "test", "call", "number"]
VOCABULARY = DIGITS + COMMON

# espeak-ng's own English voices (no MBROLA). Training hears the first six accents; the
# last two are held out to measure voices never heard in training.
TRAIN_VOICES = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd"]
UNSEEN_VOICES = ["en-029", "en-us-nyc"]
VARIANTS = ["", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5"]
SPEEDS = (130, 200)  # words per minute, inclusive range
PITCHES = (25, 75)  # espeak-ng -p, inclusive range

TRIM_DB = -40.0  # a clip's audible part: samples within 40 dB of its peak


@dataclass(frozen=True)
class Speaker:
    voice: str
    variant: str
    speed: int
    pitch: int

    @property
    def espeak_voice(self) -> str:
        return f"{self.voice}+{self.variant}" if self.variant else self.voice

    def describe(self) -> str:
        return f"{self.espeak_voice} s{self.speed} p{self.pitch}"


@dataclass(frozen=True)
class WordTime:
    word: str
    start: float  # seconds
    end: float


@dataclass
class Utterance:
    audio: np.ndarray  # float32, 16 kHz mono
    text: str
    words: list[WordTime] = field(default_factory=list)  # empty when times are unknown
    speaker: str = ""

    @property
    def duration(self) -> float:
        return len(self.audio) / SAMPLE_RATE


def _espeak_bin() -> str:
    found = shutil.which("espeak-ng")
    if not found:
        raise RuntimeError("espeak-ng is needed to synthesise speech (apt-get install espeak-ng)")
    return found


def _read_stream_wav(data: bytes) -> np.ndarray:
    """espeak-ng --stdout writes a WAV whose header has no real length: read to the end."""
    pos = data.find(b"data")
    if pos < 0:
        raise RuntimeError("espeak-ng wrote no WAV data")
    pcm = np.frombuffer(data[pos + 8 : len(data) - (len(data) - pos - 8) % 2], dtype="<i2")
    return pcm.astype(np.float32) / 32768.0


def _resample(x: np.ndarray) -> np.ndarray:
    from scipy.signal import resample_poly

    return resample_poly(x, 320, 441).astype(np.float32)  # 22050 Hz -> 16000 Hz


def espeak(text: str, speaker: Speaker) -> np.ndarray:
    """`text` spoken by `speaker`, 16 kHz float32 (untrimmed)."""
    done = subprocess.run(
        [_espeak_bin(), "-v", speaker.espeak_voice, "-s", str(speaker.speed), "-p", str(speaker.pitch),
         "--stdout", "--", text],
        capture_output=True, check=True,
    )
    return _resample(_read_stream_wav(done.stdout))


def trim(x: np.ndarray, db: float = TRIM_DB) -> np.ndarray:
    """The audible part of a clip: from the first to the last sample within `db` of the peak."""
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if peak <= 0:
        return x[:0]
    loud = np.flatnonzero(np.abs(x) >= peak * 10 ** (db / 20))
    return x[loud[0] : loud[-1] + 1]


def clip_bank(speaker: Speaker, words: list[str] = VOCABULARY) -> dict[str, np.ndarray]:
    """Every word of `words` spoken alone by `speaker`, trimmed."""
    return {w: trim(espeak(w, speaker)) for w in words}


def clip_banks(speakers: list[Speaker], words: list[str] = VOCABULARY, workers: int = 2) -> list[dict[str, np.ndarray]]:
    """Clip banks for many speakers (espeak-ng runs in `workers` parallel processes)."""
    jobs = [(s, w) for s in speakers for w in words]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        clips = list(pool.map(lambda job: trim(espeak(job[1], job[0])), jobs))
    banks: list[dict[str, np.ndarray]] = []
    for i in range(len(speakers)):
        banks.append(dict(zip(words, clips[i * len(words) : (i + 1) * len(words)])))
    return banks


def random_speakers(rng: np.random.Generator, n: int, voices: list[str],
                    variants: list[str] = VARIANTS) -> list[Speaker]:
    return [Speaker(str(rng.choice(voices)), str(rng.choice(variants)),
                    int(rng.integers(SPEEDS[0], SPEEDS[1] + 1)), int(rng.integers(PITCHES[0], PITCHES[1] + 1)))
            for _ in range(n)]


def random_words(rng: np.random.Generator, n: int, digit_share: float = 0.6) -> list[str]:
    """`n` words: digits (a phone number, a count) mixed with the common words."""
    return [str(rng.choice(DIGITS)) if rng.random() < digit_share else str(rng.choice(COMMON)) for _ in range(n)]


def compose(words: list[str], bank: dict[str, np.ndarray], rng: np.random.Generator,
            gap_s: tuple[float, float] = (0.03, 0.25), long_gap_share: float = 0.15,
            long_gap_s: tuple[float, float] = (0.3, 0.8), lead_s: tuple[float, float] = (0.05, 0.35),
            tail_s: tuple[float, float] = (0.05, 0.35), speaker: str = "") -> Utterance:
    """Word clips joined by seeded silences; word times exact."""
    parts = [np.zeros(int(rng.uniform(*lead_s) * SAMPLE_RATE), np.float32)]
    pos = len(parts[0])
    times: list[WordTime] = []
    for i, w in enumerate(words):
        if i:
            lo, hi = long_gap_s if rng.random() < long_gap_share else gap_s
            gap = np.zeros(int(rng.uniform(lo, hi) * SAMPLE_RATE), np.float32)
            parts.append(gap)
            pos += len(gap)
        clip = bank[w]
        times.append(WordTime(w, pos / SAMPLE_RATE, (pos + len(clip)) / SAMPLE_RATE))
        parts.append(clip)
        pos += len(clip)
    parts.append(np.zeros(int(rng.uniform(*tail_s) * SAMPLE_RATE), np.float32))
    return Utterance(np.concatenate(parts), " ".join(words), times, speaker)


def join(utterances: list[Utterance], pauses_s: list[float], lead_s: float = 0.0) -> Utterance:
    """Utterances one after another with silences between: one long recording, word times shifted."""
    if len(pauses_s) != len(utterances) - 1:
        raise ValueError("one pause per join")
    parts = [np.zeros(int(lead_s * SAMPLE_RATE), np.float32)]
    pos = len(parts[0])
    words: list[WordTime] = []
    for i, u in enumerate(utterances):
        offset = pos / SAMPLE_RATE
        words += [WordTime(w.word, w.start + offset, w.end + offset) for w in u.words]
        parts.append(u.audio)
        pos += len(u.audio)
        if i < len(pauses_s):
            parts.append(np.zeros(int(pauses_s[i] * SAMPLE_RATE), np.float32))
            pos += len(parts[-1])
    return Utterance(np.concatenate(parts), " ".join(u.text for u in utterances), words,
                     ",".join(sorted({u.speaker for u in utterances})))


def held_out_set(seed: int, n: int, voices: list[str], n_speakers: int = 8,
                 words_per_utt: tuple[int, int] = (3, 8)) -> list[Utterance]:
    """`n` utterances by `n_speakers` new random speakers of `voices` (fresh speeds/pitches)."""
    rng = np.random.default_rng(seed)
    speakers = random_speakers(rng, n_speakers, voices)
    banks = clip_banks(speakers)
    out = []
    for i in range(n):
        k = i % n_speakers
        words = random_words(rng, int(rng.integers(words_per_utt[0], words_per_utt[1] + 1)))
        out.append(compose(words, banks[k], rng, speaker=speakers[k].describe()))
    return out


def _turns(seed: int, seconds: float, voices: list[str], n_speakers: int, n_words: tuple[int, int],
           between_s: tuple[float, float], start_s: float, **compose_kw) -> Utterance:
    """About `seconds` of utterances by `n_speakers` random speakers, `between_s` apart
    (the random draws in a fixed order: a seed always gives the same recording)."""
    rng = np.random.default_rng(seed)
    speakers = random_speakers(rng, n_speakers, voices)
    banks = clip_banks(speakers)
    utts: list[Utterance] = []
    total = 0.0
    while total < seconds:
        k = int(rng.integers(n_speakers))
        words = random_words(rng, int(rng.integers(*n_words)))
        u = compose(words, banks[k], rng, speaker=speakers[k].describe(), **compose_kw)
        utts.append(u)
        total += u.duration + sum(between_s) / 2
    return join(utts, [float(rng.uniform(*between_s)) for _ in utts[1:]], lead_s=start_s)


def long_recording(seed: int, seconds: float, voices: list[str], n_speakers: int = 6,
                   pause_s: tuple[float, float] = (0.6, 1.5)) -> Utterance:
    """A recording of about `seconds`: utterances of several speakers with pauses between."""
    return _turns(seed, seconds, voices, n_speakers, (3, 10), pause_s, 0.3, lead_s=(0.0, 0.05), tail_s=(0.0, 0.05))


def continuous_recording(seed: int, seconds: float, voices: list[str], n_speakers: int = 4,
                         gap_s: tuple[float, float] = (0.03, 0.09)) -> Utterance:
    """Continuous speech of about `seconds`: turns of several speakers with no pause longer
    than `gap_s` anywhere, between words or between turns (fast talkers, a panel that
    talks over each other's ends): no quiet point for a cut to hide in."""
    return _turns(seed, seconds, voices, n_speakers, (5, 16), gap_s, 0.2, gap_s=gap_s, long_gap_share=0.0,
                  lead_s=(0.0, 0.001), tail_s=(0.0, 0.001))
def noise_bed(audio: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """`audio` under steady white noise `snr_db` below the speech's power (measured over
    the spoken samples, not the pauses): the condition that makes the tiny model mishear
    common words, used by the vocabulary-boosting tests and benchmark."""
    spoken = audio[np.abs(audio) > 1e-4]
    power = float(np.mean(spoken**2)) if len(spoken) else 0.0
    noise = rng.normal(0.0, np.sqrt(power / 10 ** (snr_db / 10)), len(audio))
    return (audio + noise).astype(np.float32)


def write_wav(path, audio: np.ndarray) -> None:
    """16-bit PCM WAV, 16 kHz mono (stdlib only)."""
    pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(SAMPLE_RATE)
        f.writeframes(pcm.tobytes())
