"""Speakers in a job: CLI options, the one-line message without a diarizer, the pipeline
with a tiny real Sortformer (random weights) after a tiny real recogniser, and the journal
keeping the diarization for a resumed job."""
from __future__ import annotations

import io
import shutil

import pytest

from nemo_desk import cli
from nemo_desk.app import build_services
from nemo_desk.engine.jobs import Job, job_from_json, job_to_json
from nemo_desk.engine.modelref import ModelRef
from nemo_desk.engine.options import TranscribeOptions
from nemo_desk.engine.queue import JournalChunks


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.run(list(args), lambda **kw: build_services(**kw), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_speakers_value_is_checked(app_home, tmp_path):
    err = io.StringIO()
    with pytest.raises(SystemExit) as exc:
        cli.run(["transcribe", "--speakers", "many", str(tmp_path / "a.wav")], lambda **kw: build_services(**kw),
                out=io.StringIO(), err=err)
    assert exc.value.code == 2
    assert "--speakers takes auto, off or a number" in err.getvalue()


@pytest.mark.parametrize("speakers, named", [("auto", "nvidia/diar_streaming_sortformer_4spk-v2.1"),
                                              ("3", "nvidia/diar_streaming_sortformer_4spk-v2.1"),
                                              ("6", "nvidia/speakerverification_en_titanet_large")])
def test_speakers_without_a_diarizer_is_one_line_naming_how_to_get_one(speakers, named, app_home, speech_dir):
    code, _, err = run("transcribe", "--speakers", speakers, str(speech_dir / "hello.wav"))
    assert code == cli.EXIT_FAILED
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"nemo-desk: --speakers needs a diarizer: run `nemo-desk models download {named}` ")
    assert "--diarizer-path" in lines[0]
    # Nothing was queued: the next --resume has nothing to do.
    s = build_services()
    try:
        assert s.queue.journal.jobs() == []
    finally:
        s.close()


def test_an_unknown_diarizer_id_is_one_line(app_home, speech_dir):
    code, _, err = run("transcribe", "--speakers", "auto", "--diarizer", "nvidia/nope", str(speech_dir / "hello.wav"))
    assert code == cli.EXIT_FAILED and err.count("\n") == 1 and "unknown model 'nvidia/nope'" in err


def test_models_list_shows_diarizers_apart(app_home, tiny_sortformer):
    code, out, _ = run("models", "import", str(tiny_sortformer))
    assert code == 0
    code, out, _ = run("models", "list")
    assert code == 0
    recognisers, diarizers = out.split("Recognisers (speech to text):\n")[1].split("Diarizers (who speaks):\n")
    assert "nvidia/parakeet-tdt-0.6b-v3" in recognisers and "sortformer" not in recognisers
    assert "nvidia/diar_streaming_sortformer_4spk-v2.1" in diarizers and "NVIDIA Open Model License" in diarizers
    assert "nvidia/speakerverification_en_titanet_large" in diarizers and "Licence: CC-BY-4.0" in diarizers
    assert "local diarizer" in diarizers.split("Local files:\n")[1]


def test_speaker_options_survive_the_journal():
    job = Job(source=__file__, options=TranscribeOptions(speakers="3", diarizer_path="x.nemo"))  # type: ignore[arg-type]
    assert job_from_json(job_to_json(job)).options == job.options


def test_a_job_gets_speakers_and_a_resumed_job_reuses_the_diarization(services, tmp_path, speech_dir,
                                                                     tiny_steered, tiny_sortformer, monkeypatch):
    src = tmp_path / "talk.wav"
    shutil.copy(speech_dir / "hello.wav", src)
    job = Job(source=src, model=ModelRef(path=tiny_steered, device="cpu"), formats=("json",),
              options=TranscribeOptions(speakers="auto", diarizer_path=str(tiny_sortformer)))
    (job,) = services.queue.add([job])
    journal = services.queue.journal

    def cache() -> JournalChunks:  # what the queue hands the pipeline for this job
        return JournalChunks(journal, job, lambda event: None)

    first = services.pipeline.run(job, cache=cache())
    journal.flush()  # as the queue does after each batch and at the job's end
    assert first.status == "done", first.failure
    doc = first.transcript  # the document: a speakers table, segments refer to it by id
    t = doc.named()  # what every export renders: display names on segments and words
    assert t.words and all(w.speaker for w in t.words) and all(s.speaker for s in t.segments)
    assert {s.name for s in doc.speakers} == {w.speaker for w in t.words}
    assert [s.id for s in doc.speakers] == [f"S{i}" for i in range(1, len(doc.speakers) + 1)]
    for seg in t.segments:
        assert {w.speaker for w in seg.words} == {seg.speaker}

    model = services.pipeline.diarizers.loaded.model

    def no_step(*args, **kwargs):
        raise AssertionError("diarized again on resume")

    monkeypatch.setattr(model, "forward_streaming_step", no_step)
    again = services.pipeline.run(job, cache=cache())  # an interrupted job's second run
    assert again.status == "done", again.failure
    assert [w.speaker for w in again.transcript.named().words] == [w.speaker for w in t.words]


def test_a_recogniser_given_as_diarizer_and_the_reverse_fail_clearly(services, tmp_path, speech_dir,
                                                                      tiny_steered, tiny_sortformer):
    src = tmp_path / "a.wav"
    shutil.copy(speech_dir / "hello.wav", src)
    wrong_diarizer = Job(source=src, model=ModelRef(path=tiny_steered, device="cpu"), formats=("txt",),
                         options=TranscribeOptions(speakers="auto", diarizer_path=str(tiny_steered)))
    result = services.pipeline.run(wrong_diarizer)
    assert result.status == "failed" and "is a speech recogniser, not a diarizer" in result.failure.message
    wrong_model = Job(source=src, model=ModelRef(path=tiny_sortformer, device="cpu"), formats=("txt",))
    result = services.pipeline.run(wrong_model)
    assert result.status == "failed" and "is a speaker diarizer, not a speech recogniser" in result.failure.message
    assert not list(tmp_path.glob("a.txt"))


def test_the_embedding_diarizer_is_the_hugging_face_repository_and_the_old_id_still_works():
    from nemo_desk.engine.catalog import EMBEDDING_DIARIZER_ID, get_diarizer_spec

    spec = get_diarizer_spec(EMBEDDING_DIARIZER_ID)
    # The repository and file that Hugging Face serves (the NGC name gave a 404).
    assert (spec.id, spec.hf_filename) == ("nvidia/speakerverification_en_titanet_large",
                                           "speakerverification_en_titanet_large.nemo")
    assert spec.licence == "CC-BY-4.0"
    assert get_diarizer_spec("nvidia/titanet_large") is spec and get_diarizer_spec("titanet_large") is spec
