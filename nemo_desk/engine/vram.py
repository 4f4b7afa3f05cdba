"""How much VRAM a model needs, and how many chunks a GPU transcribes at once.

Derived, not guessed per model: weights are the .nemo's size (fp32 checkpoints), halved
when the model runs cast to bf16; the CUDA context with cuBLAS/cuDNN workspaces takes
about 0.8 GB (more under Windows' WDDM than on Linux); activations of a FastConformer
grow linearly with the audio in a call (the 8x convolutional subsampling's first layer
dominates: 256 channels x 1500 x 40 fp32 values for 30 s, about 60 MB, a few of them alive
at once; attention over 375 frames is small), so 0.25 GB per 30 s item in fp32 is a safe
bound. The weights are loaded to the CPU and copied over once, so no second copy counts.
`benchmarks/gpu.py` records the real peaks (load and transcription) to check these.
"""
from __future__ import annotations

from nemo_desk.engine.device import Precision

CONTEXT_GB = 0.8
ACTIVATION_GB_PER_30S = 0.25  # fp32, one item of a batch
HEADROOM = 1.2  # fragmentation, the decoder's CUDA-graph buffers, other apps' spikes
GPU_BATCHES = (16, 8, 4, 2, 1)  # tried largest first; bigger batches keep a GPU busy


def bytes_factor(precision: Precision) -> float:
    return 0.5 if precision is Precision.BF16 else 1.0


def weights_gb(size_gb: float, precision: Precision) -> float:
    return size_gb * bytes_factor(precision)


def activations_gb(batch: int, chunk_s: float, precision: Precision) -> float:
    # fp16 autocast keeps fp32 weights but computes in half precision.
    act = 0.5 if precision in (Precision.BF16, Precision.FP16) else 1.0
    return ACTIVATION_GB_PER_30S * act * batch * max(chunk_s, 1.0) / 30.0


def need_gb(size_gb: float, precision: Precision, batch: int = 1, chunk_s: float = 30.0) -> float:
    """VRAM to load the model and transcribe at least one chunk."""
    return (CONTEXT_GB + weights_gb(size_gb, precision) + activations_gb(batch, chunk_s, precision)) * HEADROOM


def gpu_batch(free_gb: float, size_gb: float, precision: Precision, chunk_s: float) -> int:
    """The largest batch whose activations fit in what is free after the weights (at
    least 1: the out-of-memory back-off has the last word)."""
    spare = free_gb / HEADROOM - CONTEXT_GB - weights_gb(size_gb, precision)
    for batch in GPU_BATCHES:
        if activations_gb(batch, chunk_s, precision) <= spare:
            return batch
    return 1
