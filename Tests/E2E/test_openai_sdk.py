"""The official ``openai`` SDK, unmodified, pointed at the gateway."""

from __future__ import annotations

import time

import openai
import pytest

import fake_upstream as fu
from harness import BACKEND_KEY, CLIENT_KEY, parse_cache_status, unique


@pytest.fixture(scope="module")
def sdk(gateway):
    return gateway.openai(CLIENT_KEY)


def messages(marker: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "You are terse."}, {"role": "user", "content": f"Say hi to {marker}"}]


def test_chat_non_stream(gateway, fake, sdk):
    m = messages(unique("sdk-chat"))
    completion = sdk.chat.completions.create(model="fake-chat", messages=m)
    assert completion.choices[0].message.content == fu.chat_reply_text(m)
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.completion_tokens == len(
        fu.split_chunks(fu.chat_reply_text(m)))
    upstream = fake.last_request("/v1/chat/completions")
    assert upstream is not None, "the fake never saw the request"
    assert upstream.headers.get("authorization") == f"Bearer {BACKEND_KEY}", (
        "the gateway must send the backend's key upstream, never the client's: "
        f"got {upstream.headers.get('authorization')!r}")


def test_chat_non_stream_repeat_is_a_cache_hit_visible_through_the_sdk(gateway, fake, sdk):
    m = messages(unique("sdk-hit"))
    first = sdk.chat.completions.with_raw_response.create(model="fake-chat", messages=m)
    second = sdk.chat.completions.with_raw_response.create(model="fake-chat", messages=m)
    assert parse_cache_status(second.headers.get("cache-status")).hit, (
        f"second identical call should be a hit; Cache-Status: {second.headers.get('cache-status')!r}")
    assert second.parse().choices[0].message.content == first.parse().choices[0].message.content
    assert fake.count("/v1/chat/completions", contains=m[1]["content"]) == 1


def test_chat_stream(gateway, fake, sdk):
    m = messages(unique("sdk-stream"))
    deltas, finish, roles = [], None, []
    with sdk.chat.completions.create(model="fake-chat", messages=m, stream=True) as stream:
        for chunk in stream:
            assert chunk.object == "chat.completion.chunk"
            for choice in chunk.choices:
                if choice.delta.role:
                    roles.append(choice.delta.role)
                deltas.append(choice.delta.content or "")
                finish = choice.finish_reason or finish
    assert "".join(deltas) == fu.chat_reply_text(m), "streamed deltas must add up to the fake's text"
    assert roles[:1] == ["assistant"]
    assert finish == "stop"


def test_chat_stream_is_relayed_as_it_arrives(gateway, fake, sdk):
    m = messages(unique("sdk-live"))
    fake.set_model_behavior("slow-model", "slow", chunk_delay=0.15)
    start = time.monotonic()
    arrivals = []
    for chunk in sdk.chat.completions.create(model="slow-model", messages=m, stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.monotonic() - start)
    total = time.monotonic() - start
    assert len(arrivals) >= 5
    assert arrivals[0] < total - 0.5, (
        f"the first delta came at {arrivals[0]:.2f}s of {total:.2f}s: the stream was buffered, not relayed")


def test_chat_stream_include_usage(gateway, sdk):
    m = messages(unique("sdk-usage"))
    usage_chunks = []
    text = []
    for chunk in sdk.chat.completions.create(model="fake-chat", messages=m, stream=True,
                                             stream_options={"include_usage": True}):
        if chunk.usage is not None:
            usage_chunks.append(chunk)
        for choice in chunk.choices:
            text.append(choice.delta.content or "")
    assert "".join(text) == fu.chat_reply_text(m)
    assert usage_chunks, "include_usage asks for a final chunk carrying usage"
    last = usage_chunks[-1]
    assert last.choices == [] and last.usage.completion_tokens == len(fu.split_chunks(fu.chat_reply_text(m)))


def test_completions(gateway, sdk):
    prompt = f"Write a haiku about {unique('sdk-cmpl')}"
    completion = sdk.completions.create(model="fake-instruct", prompt=prompt, max_tokens=50)
    assert completion.object == "text_completion"
    assert completion.choices[0].text == fu.expected_completion_text(prompt, 50)
    pieces = [c.choices[0].text for c in sdk.completions.create(model="fake-instruct", prompt=prompt + "!",
                                                                 stream=True) if c.choices]
    assert "".join(pieces) == fu.completion_text(prompt + "!")


def test_embeddings_default_base64(gateway, fake, sdk):
    inputs = [f"first {unique('emb')}", f"second {unique('emb')}"]
    response = sdk.embeddings.create(model="fake-embed", input=inputs)  # the SDK asks for base64
    assert [d.embedding for d in response.data] == [fu.embedding_vector(t) for t in inputs], (
        "base64 float32 vectors must decode to exactly the fake's numbers")
    assert response.usage.prompt_tokens > 0


def test_embeddings_float(gateway, sdk):
    text = f"float please {unique('emb')}"
    response = sdk.embeddings.create(model="fake-embed", input=text, encoding_format="float")
    assert response.data[0].embedding == fu.embedding_vector(text)


def test_models_list(gateway, sdk):
    models = list(sdk.models.list())
    assert models, "GET /v1/models must list at least one model"
    for model in models:
        assert model.id and model.object == "model"


@pytest.mark.parametrize("status,exc", [
    (429, openai.RateLimitError),
    (500, openai.InternalServerError),
    (400, openai.BadRequestError),
])
def test_upstream_errors_map_to_sdk_exceptions(gateway, fake, sdk, status, exc):
    model = f"fake-err-{status}"
    fake.set_model_behavior(model, "fail", status=status, error_message=f"upstream says {status}")
    with pytest.raises(exc) as caught:
        sdk.chat.completions.create(model=model, messages=messages(unique("sdk-err")))
    assert caught.value.status_code == status
    assert isinstance(caught.value.body, dict) and caught.value.body.get("message"), (
        f"error body must be OpenAI-shaped, got {caught.value.body!r}")


def test_unknown_model_is_not_found(gateway, fake, sdk):
    with pytest.raises(openai.NotFoundError) as caught:
        sdk.chat.completions.create(model="no-such-model-anywhere", messages=messages(unique("sdk-404")))
    assert caught.value.status_code == 404
    assert "no-such-model-anywhere" in caught.value.body.get("message", ""), (
        f"the 404 should name the model, got {caught.value.body!r}")
    assert fake.count("/v1/chat/completions", contains="sdk-404") == 0


def test_malformed_request_is_bad_request(gateway, sdk):
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(model="fake-chat", messages="this should be a list")  # type: ignore[arg-type]
    assert caught.value.status_code == 400


def test_wrong_type_field_is_bad_request(gateway, sdk):
    with pytest.raises(openai.BadRequestError):
        sdk.chat.completions.create(model="fake-chat", messages=messages(unique("sdk-bad")),
                                    extra_body={"temperature": "very hot"})
