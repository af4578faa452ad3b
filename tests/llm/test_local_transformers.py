"""The local transformers backend, with a tiny randomly initialized GPT-2 built offline."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from judgeloop.llm.config import EndpointConfig
from judgeloop.llm.local import TransformersBackend, format_plain
from judgeloop.services.generation import generate_answers, list_generations
from judgeloop.services.model_versions import register_model
from judgeloop.store.models import Candidate
from tests.factories import make_item, make_project

WORDS = ["the", "a", "is", "of", "and", "to", "in", "what", "capital", "answer", "hello"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-layer GPT-2 (32-wide) and a word-level tokenizer, saved to a folder."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    vocab = {
        w: i for i, w in enumerate(["[UNK]", "[PAD]", "[EOS]", ":", "user", "assistant", *WORDS])
    }
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]", eos_token="[EOS]"
    )
    path = tmp_path_factory.mktemp("tiny-gpt2")
    fast.save_pretrained(path)
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=len(vocab),
        n_positions=128,
        n_embd=32,
        n_layer=1,
        n_head=2,
        bos_token_id=2,
        eos_token_id=2,
    )
    GPT2LMHeadModel(config).save_pretrained(path)
    return path


def _backend(path: Path, **params: object) -> TransformersBackend:
    return TransformersBackend(
        EndpointConfig(kind="transformers", local_path=str(path), params=dict(params))
    )


def test_plain_prompt_format() -> None:
    text = format_plain([{"role": "user", "content": "hello"}])
    assert text == "user: hello\nassistant:"


def test_greedy_generation_is_deterministic_and_counts_tokens(tiny_model: Path) -> None:
    backend = _backend(tiny_model, max_tokens=5, temperature=0)
    messages = [{"role": "user", "content": "what is the capital"}]
    first = backend.generate(messages)
    assert first.ok and first.text and first.completion_tokens <= 5
    assert first.prompt_tokens == len(
        ["user", ":", "what", "is", "the", "capital", "assistant", ":"]
    )
    assert backend.generate(messages).text == first.text


def test_sampling_follows_the_seed(tiny_model: Path) -> None:
    backend = _backend(tiny_model, max_tokens=8, temperature=1.0)
    messages = [{"role": "user", "content": "hello world"}]
    runs = [backend.generate(messages, seed=s).text for s in (1, 1, 2, 3)]
    assert runs[0] == runs[1]
    assert len(set(runs)) > 1


def test_a_missing_directory_is_a_failed_reply_not_an_exception() -> None:
    backend = _backend(Path("/nonexistent/model"))
    reply = asyncio.run(backend.complete([{"role": "user", "content": "hi"}]))
    assert not reply.ok and reply.error


def test_generate_answers_with_a_local_model(session: Session, tiny_model: Path) -> None:
    project = make_project(session, redundancy=1)
    items = [
        make_item(session, project=project, prompt=p, answers=())
        for p in ("what is the capital", "hello")
    ]
    register_model(
        session,
        name="tiny-local",
        config=EndpointConfig(
            kind="transformers",
            local_path=str(tiny_model),
            params={"max_tokens": 4, "temperature": 0.8, "seed": 5},
        ),
    )
    register_model(
        session,
        name="tiny-missing",
        config=EndpointConfig(kind="transformers", local_path="/nonexistent/model"),
    )
    report = generate_answers(
        session, project_id=project.id, models=["tiny-local", "tiny-missing"], samples=2
    )
    assert (report.ok, report.failed) == (4, 4)
    for item in items:
        cands = list(session.scalars(select(Candidate).where(Candidate.item_id == item.id)))
        assert len(cands) == 2 and all(c.model_version_id for c in cands)
    rows = list_generations(session, project_id=project.id, status="ok")
    assert all(0 < r.completion_tokens <= 4 and r.prompt_tokens > 0 for r in rows)
