"""instrument() / uninstrument(): detection, choosing libraries, idempotence,
restoring the very same original functions, and warnings (never errors)
for libraries that are missing or unsupported."""

from __future__ import annotations

import importlib.metadata
import warnings

import anthropic.resources.messages as anthropic_messages
import openai.resources.chat.completions as chat
import openai.resources.embeddings as embeddings
import openai.resources.responses as responses
import pytest
from langchain_core.tracers import context as lc_context

import agtrace
from agtrace import _instrument as instrument_module

TARGETS = [
    (chat.Completions, "create"),
    (chat.AsyncCompletions, "create"),
    (responses.Responses, "create"),
    (responses.AsyncResponses, "create"),
    (embeddings.Embeddings, "create"),
    (embeddings.AsyncEmbeddings, "create"),
    (anthropic_messages.Messages, "create"),
    (anthropic_messages.AsyncMessages, "create"),
    (anthropic_messages.Messages, "stream"),
    (anthropic_messages.AsyncMessages, "stream"),
]


@pytest.fixture(autouse=True)
def clean():
    agtrace.uninstrument()
    yield
    agtrace.uninstrument()


def test_instrument_patches_and_uninstrument_restores_the_same_objects():
    originals = {(cls, name): vars(cls)[name] for cls, name in TARGETS}
    hooks = list(lc_context._configure_hooks)
    assert sorted(agtrace.instrument()) == ["anthropic", "langchain", "openai"]
    for (cls, name), original in originals.items():
        assert vars(cls)[name] is not original, f"{cls.__name__}.{name} not patched"
        assert vars(cls)[name].__wrapped__ is original
    assert len(lc_context._configure_hooks) == len(hooks) + 1
    agtrace.uninstrument()
    for (cls, name), original in originals.items():
        assert vars(cls)[name] is original, f"{cls.__name__}.{name} not restored"
    assert lc_context._configure_hooks == hooks


def test_instrument_twice_is_a_no_op():
    agtrace.instrument("openai")
    patched = vars(chat.Completions)["create"]
    assert agtrace.instrument("openai") == ["openai"]
    assert vars(chat.Completions)["create"] is patched
    assert patched.__wrapped__ is not patched


def test_uninstrument_twice_and_without_instrument_is_harmless():
    agtrace.uninstrument()
    agtrace.uninstrument("openai")


def test_choosing_libraries():
    original = vars(anthropic_messages.Messages)["create"]
    assert agtrace.instrument("openai") == ["openai"]
    assert vars(anthropic_messages.Messages)["create"] is original
    assert instrument_module.instrumented() == ["openai"]
    agtrace.uninstrument("openai")
    assert instrument_module.instrumented() == []


def test_unknown_library_name_is_an_argument_error():
    with pytest.raises(agtrace.InvalidArgument):
        agtrace.instrument("openia")


def test_missing_library_warns_once_and_does_not_raise(monkeypatch):
    real = importlib.metadata.version

    def version(name):
        if name == "anthropic":
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert agtrace.instrument("anthropic", "openai") == ["openai"]
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "anthropic is not installed" in messages[0]
    # Detection (no names) skips a missing library silently.
    agtrace.uninstrument()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert "anthropic" not in agtrace.instrument()
    assert caught == []


def test_unsupported_version_warns_and_is_skipped(monkeypatch):
    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", lambda n: "0.28.0" if n == "openai" else real(n))
    original = vars(chat.Completions)["create"]
    with pytest.warns(UserWarning, match=r"openai 0\.28\.0 is not supported"):
        assert "openai" not in agtrace.instrument()
    assert vars(chat.Completions)["create"] is original
