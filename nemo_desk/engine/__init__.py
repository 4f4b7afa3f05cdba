"""The engine: model catalog, model store and loading, chunked transcription, jobs.

No Qt here. torch and NeMo are imported lazily inside functions so that importing this
package stays cheap (the GUI imports it at start-up).
"""
