"""nemo_desk: offline transcription of audio and video files with NVIDIA NeMo models."""

__version__ = "0.1.0"
