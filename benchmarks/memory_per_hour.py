"""Peak memory nemo_desk adds per hour of audio (a script, not a test).

Each length runs in a fresh process: decode a 16 kHz WAV (the app's soundfile route), plan
overlapping windows, run the window loop and the merge. The model is a stub that returns
one word per window, so only what grows with the file's length is measured (every model
call sees at most batch x window, whatever the length). Reports the peak RSS of each and
(2 h - 10 min) / 1.83 h, the memory added per hour; the target is <= 0.25 GB.

    .venv/bin/python benchmarks/memory_per_hour.py
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GB = 2**30

CHILD = r"""
import json, resource, sys, os
from pathlib import Path
sys.path.insert(0, sys.argv[3])
import numpy as np
from nemo_desk.engine.catalog import local_spec
from nemo_desk.engine.loader import LoadedModel
from nemo_desk.engine.transcriber import TranscribeOptions, transcribe_array
from nemo_desk.media import Ffmpeg, decode
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
audio = decode(sys.argv[1], Ffmpeg.locate(os.environ))
loaded = LoadedModel(local_spec("stub.nemo", "tdt"), None, "cpu", Path("."))
tr = transcribe_array(loaded, audio, TranscribeOptions(), runner=lambda arrays: ["go"] * len(arrays))
print(json.dumps({"seconds": float(sys.argv[2]), "imports_rss": before, "windows": tr.meta["chunks"],
                  "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def write_wav(path: Path, seconds: float) -> None:
    """Noise bursts with short pauses, written a minute at a time (int16, 16 kHz)."""
    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", samplerate=16000, channels=1, subtype="PCM_16") as f:
        left = int(seconds * 16000)
        while left > 0:
            n = min(left, 60 * 16000)
            t = np.arange(n) / 16000
            f.write((rng.standard_normal(n) * 0.1 * (np.sin(2 * np.pi * 0.3 * t) > -0.8)).astype(np.float32))
            left -= n


def main() -> None:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for seconds in (600.0, 7200.0):
            wav = Path(tmp) / f"{int(seconds)}.wav"
            write_wav(wav, seconds)
            out = subprocess.run([sys.executable, "-c", CHILD, str(wav), str(seconds), str(REPO)],
                                 capture_output=True, text=True, check=True)
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
            wav.unlink()
    for r in results:
        print(f"{r['seconds'] / 60:.0f} min: peak RSS {r['peak_rss'] / GB:.3f} GB "
              f"(after imports {r['imports_rss'] / GB:.3f} GB), {r['windows']} windows")
    short, long = results
    per_hour = (long["peak_rss"] - short["peak_rss"]) / GB / ((long["seconds"] - short["seconds"]) / 3600)
    print(f"added per hour of audio: {per_hour:.3f} GB (target <= 0.25)")


if __name__ == "__main__":
    main()
