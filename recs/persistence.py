"""Saving and loading a fitted recommender: a pickle stamped with the layout's version."""

import pickle
from typing import Self

# Bumped whenever the pickled layout changes; loads() refuses other versions.
FORMAT_VERSION = 4


class PersistenceMixin:
    """dumps() and loads() for a fitted model; a model of another format version is refused, not guessed at."""

    def dumps(self) -> bytes:
        """Serialise the fitted model, stamped with the format version."""
        return pickle.dumps({"format_version": FORMAT_VERSION, "model": self}, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def loads(cls, data: bytes) -> Self:
        """Restore a model from dumps(); refuse one written in another format version."""
        payload = pickle.loads(data)
        version = payload.get("format_version") if isinstance(payload, dict) else None
        if version != FORMAT_VERSION:
            raise ValueError(f"model format {version!r} is not {FORMAT_VERSION}; rebuild the model")
        if not isinstance(payload["model"], cls):
            raise TypeError(f"payload is not a {cls.__name__}")
        return payload["model"]
