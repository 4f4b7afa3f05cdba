"""Loading a NeMo model's weights without paying for work the checkpoint throws away.

NeMo's restore builds the whole module from its config first, and every Linear, Conv and
LSTM fills its weights with random numbers (kaiming_uniform_ and friends); then the
checkpoint overwrites every one of them. For Parakeet 0.6B that random fill is ~8 s of a
~22 s CPU load. Reading the checkpoint through torch's zip reader costs another ~8 s
(the whole 2.5 GB is copied into fresh tensors, then copied again into the model).

So, only while NeMo builds the module, the random initialisers are no-ops (the tensors
keep whatever torch.empty gave them), and the checkpoint is memory-mapped, so its bytes
are copied once, straight from the page cache into the model's parameters.

The config costs seconds too: Parakeet's model_config.yaml carries its 8192-piece
vocabulary twice (`labels`, `joint.vocabulary`), PyYAML parses it in pure Python, and NeMo
deep-copies the config several times while building. We keep a JSON copy of the parsed
YAML next to it (parsed in milliseconds), and for the model class that rebuilds both lists
from its tokenizer before using them (EncDecRNNTBPEModel.__init__) we leave them out of
what NeMo copies. The restored model's config is the same either way (tested).

Why this is safe: NeMo loads with strict=True, so every persistent parameter and buffer
must come from the checkpoint or the load fails loudly. Non-persistent buffers (positional
encodings, mel filterbanks) are computed by arithmetic, not by the random initialisers, so
they are untouched. tests/test_fastload.py proves every tensor, persistent or not, equals
NeMo's own restore_from on each model family.

torch and NeMo are imported inside the functions: the GUI never imports this module's
dependencies at start-up.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any, Iterator

log = logging.getLogger(__name__)

# The random initialisers in torch.nn.init. The cheap deterministic ones (zeros_, ones_,
# constant_, eye_, dirac_) are left alone: skipping them saves nothing.
RANDOM_INITS = (
    "uniform_", "normal_", "trunc_normal_", "xavier_uniform_", "xavier_normal_",
    "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_",
)

# The patch is process-wide (torch.nn.init is one module), so two loads on two threads
# must not interleave their patch and restore. The app loads on one worker thread; the
# lock keeps a second caller (a test, the CLI) correct anyway.
PATCH_LOCK = threading.RLock()


def _keep(tensor: Any, *args: Any, **kwargs: Any) -> Any:
    return tensor


@contextlib.contextmanager
def skip_random_init() -> Iterator[None]:
    """While active, torch.nn.init's random initialisers leave tensors as they are."""
    import torch.nn.init as init

    with PATCH_LOCK:
        saved = {name: getattr(init, name) for name in RANDOM_INITS}
        try:
            for name in RANDOM_INITS:
                setattr(init, name, _keep)
            yield
        finally:
            for name, fn in saved.items():
                setattr(init, name, fn)


def load_checkpoint(path: str, map_location: Any = "cpu") -> dict:
    """torch.load with mmap: the tensors are views of the file (read-only, private), so
    load_state_dict copies each one once into the model. The mapping goes away with the
    state dict, right after the load, so the file is not held open afterwards (Windows
    would otherwise refuse to delete the model folder).

    The tensors always stay on the CPU, whatever `map_location` NeMo passes: NeMo moves
    the model to its device before it loads the state dict, so mapping the checkpoint to
    CUDA too would hold every weight twice in VRAM at the peak; load_state_dict copies CPU
    tensors into CUDA parameters just as well."""
    import torch

    from nemo_desk.engine.device import is_out_of_memory
    from nemo_desk.locks.classify import is_lock_error

    try:
        return torch.load(path, map_location="cpu", mmap=True)
    except Exception as exc:
        # A locked or missing file is not a mapping problem: the caller's retry and lock
        # handling see it as it is (reading it whole would only hit the lock again); nor
        # is running out of memory (reading it whole needs more).
        if isinstance(exc, FileNotFoundError) or (isinstance(exc, OSError) and is_lock_error(exc)):
            raise
        if is_out_of_memory(exc) or isinstance(exc, MemoryError):
            raise
        # Old (non-zip) checkpoints cannot be mapped, nor can files on some network shares.
        # Reading the file whole is what NeMo does; a damaged file fails again there.
        log.debug("checkpoint %s cannot be memory-mapped (%s); reading it whole", path, exc)
        return torch.load(path, map_location="cpu")


CONFIG_NAME = "model_config.yaml"
CONFIG_CACHE = "nemo_desk_config.json"

# Config entries a model class recomputes (from its tokenizer) before it reads them, by the
# class named in the config's `target`. Checked against NeMo 3.0's rnnt_bpe_models.py:
# __init__ assigns cfg.labels and cfg.joint.vocabulary from tokenizer.get_vocab().
REBUILT_ON_INIT = {
    "nemo.collections.asr.models.rnnt_bpe_models.EncDecRNNTBPEModel": (("labels",), ("joint", "vocabulary")),
}


def read_config(folder: Path) -> dict:
    """The model's config as plain data (interpolations unresolved, as OmegaConf.load
    leaves them), from the JSON copy when it matches the YAML's size and mtime."""
    yaml_path = folder / CONFIG_NAME
    st = yaml_path.stat()
    key = [st.st_size, st.st_mtime_ns]
    cache = folder / CONFIG_CACHE
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
        if data.get("key") == key and isinstance(data.get("config"), dict):
            return data["config"]
    except (OSError, ValueError):
        pass  # no copy yet, or a damaged one: parse the YAML
    from omegaconf import OmegaConf

    config = OmegaConf.to_container(OmegaConf.load(yaml_path), resolve=False)
    assert isinstance(config, dict)  # a model config is a mapping (for the type checker)
    _write_cache(cache, key, config)
    return config


def _write_cache(cache: Path, key: list, config: dict) -> None:
    """Best effort: the copy only saves time, so a failure to write it is not an error."""
    try:
        text = json.dumps({"key": key, "config": config}, ensure_ascii=False)
        if json.loads(text)["config"] != config:  # e.g. integer keys would become strings
            log.debug("config of %s does not survive JSON; not cached", cache.parent)
            return
        tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, cache)
    except (OSError, TypeError, ValueError) as exc:  # read-only folder, a scanner's lock, odd values
        log.debug("could not cache the config of %s: %s", cache.parent, exc)
        with contextlib.suppress(OSError):
            tmp.unlink()


def trimmed(config: dict) -> dict:
    """`config` without the entries its model class rebuilds before reading them."""
    drop = REBUILT_ON_INIT.get(str(config.get("target", "")), ())
    if not drop:
        return config
    config = dict(config)
    for path in drop:
        parent = config
        for part in path[:-1]:
            if not isinstance(parent.get(part), dict):
                break
            parent[part] = parent = dict(parent[part])
        else:
            parent.pop(path[-1], None)
    return config


def folder_connector(folder: str) -> Any:
    """A SaveRestoreConnector that reads `folder` in place (no tar, no temp folder), builds
    the module without random init, from the cached config, and memory-maps the weights."""
    from nemo.core.connectors.save_restore_connector import SaveRestoreConnector
    from omegaconf import OmegaConf

    class FolderConnector(SaveRestoreConnector):
        def load_instance_with_state_dict(self, instance: Any, state_dict: dict, strict: bool) -> None:
            try:
                super().load_instance_with_state_dict(instance, state_dict, strict)
            finally:
                # Lightning's save_hyperparameters leaves a frame cycle that keeps NeMo's
                # restore_from frame, and the state dict in it, alive until the next
                # garbage collection; while its tensors live the file stays mapped, and
                # Windows refuses to delete a mapped file. Emptying the dict frees them now
                # (a full gc.collect() would too, at ~0.6 s for Parakeet 0.6B).
                state_dict.clear()

        def load_config_and_state_dict(self, *args: Any, **kwargs: Any) -> Any:
            with skip_random_init():
                return super().load_config_and_state_dict(*args, **kwargs)

        @staticmethod
        def _load_state_dict_from_disk(model_weights: str, map_location: Any = "cpu") -> dict:
            return load_checkpoint(model_weights, map_location=map_location)

        # NeMo reads `model_config_yaml` once per restore and uses a DictConfig as it is.
        @property
        def model_config_yaml(self) -> Any:
            return OmegaConf.create(trimmed(read_config(Path(folder))))

        @model_config_yaml.setter
        def model_config_yaml(self, path: Any) -> None:
            self._model_config_yaml = path

    connector = FolderConnector()
    connector.model_extracted_dir = folder
    return connector
