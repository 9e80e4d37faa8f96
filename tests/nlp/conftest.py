"""The NLP suite uses `tiny_model` from tests/conftest.py (shared with the service's tests)."""
