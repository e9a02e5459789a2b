#!/usr/bin/env python3
"""Small but realistic tokenizer vocabularies for GGUF test fixtures.

Needs: Python 3.11, `gguf` (gguf-py 0.19), `regex` (for the BPE pre-tokenizer while training).
Nothing is downloaded and nothing random is used: the same call always writes the same metadata.

The functions write the `tokenizer.ggml.*` keys the way llama.cpp's convert_hf_to_gguf.py does:

- `add_spm_vocab(writer, size=...)`: a SentencePiece-BPE vocabulary like LLaMA/Mistral's
  (`tokenizer.ggml.model = "llama"`): <unk>, <s>, </s>, the 256 byte tokens <0x00>..<0xFF> (type 6),
  merged pieces with "▁" for spaces (score = -merge rank), then single characters (lowest scores).
- `add_bpe_vocab(writer, pre="llama-bpe" | "qwen2" | "gpt-2", size=...)`: a byte-level BPE vocabulary
  (`tokenizer.ggml.model = "gpt2"`): the 256 byte characters in GPT-2 order, merged tokens, a few whole-word
  tokens that no merge produces (as tiktoken-converted vocabularies have; llama3's ignore_merges reaches them),
  then the family's special tokens (type 3) and, for qwen2, user-defined tokens (type 4).

Both return the vocabulary size. Use them from other fixture scripts:

    import sys; sys.path.insert(0, "scripts")
    from gguf_vocab import add_spm_vocab, add_bpe_vocab
    n_vocab = add_bpe_vocab(writer, pre="qwen2", size=1000, chat_template=CHATML)
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable, Sequence

import regex

# ---------------------------------------------------------------------------------------------------------------------
# Training corpus: varied English prose, code, numbers, punctuation, a little accented and non-Latin text.
# Characters that occur only once or twice here are left out of the SPM character set, so they take the byte fallback.
# ---------------------------------------------------------------------------------------------------------------------

_PROSE = """\
The quick brown fox jumps over the lazy dog. The dog was not amused, but it didn't move either.
A gateway sits between the clients and the models. It accepts requests, checks the policy, and forwards them.
When the queue is full, the gateway answers with a clear error instead of waiting forever.
Tokens are the small pieces of text that a language model reads and writes, one after another.
The model predicts the next token, the sampler picks one, and the loop continues until a stop token appears.
It's a simple idea, but there are many details: byte fallback, special tokens, chat templates and streaming.
We're going to test every one of them, and we'll compare the results with the reference implementation.
They've said that the numbers must match exactly; I'm sure they'd notice if one token were different.
In the morning the city was quiet. By noon the streets were full of people, cars, bicycles and noise.
She opened the window, looked at the river, and wrote a short letter to her brother in another country.
History teaches us that small changes, repeated over many years, can transform the whole landscape.
Please read the instructions carefully before you start. Answer each question in one or two sentences.
What is the capital of France? Paris is the capital of France, and it is known for its museums and cafes.
How many days are there in a leap year? There are 366 days in a leap year and 365 in a common year.
The meeting starts at 10:30 and ends at 12:00. Lunch is served at 12:15 in the main hall on the 2nd floor.
Prices went up by 3.5% in 2023, while wages grew by only 2.1%; the difference was 1.4 percentage points.
Call 555-0123 or write to support@example.com if the server returns HTTP 503 for more than 60 seconds.
The temperature dropped from 21 degrees to 4 degrees overnight, and the first snow fell on the mountains.
Science is organized knowledge. Wisdom is organized life. Learning never exhausts the mind.
Everything should be made as simple as possible, but not simpler. Measure twice and cut once.
The system reads the configuration file, validates every field, and refuses to start if something is wrong.
Errors should say which file, which part, and what went wrong, so that an operator can fix them quickly.
Memory is mapped, not copied; the weights stay on disk until the first request touches them.
Performance matters, but correctness matters more: a fast answer that is wrong is not useful to anyone.
"Hello," said the assistant. "How can I help you today?" The user asked for a summary of the report.
The report had three sections: introduction, results, and discussion. Each section had several paragraphs.
Good morning! Good evening! Thank you very much. You're welcome. See you tomorrow, and have a nice day.
Once upon a time there was a little robot who wanted to learn how to paint pictures of the sea.
Every night it watched the waves, the stars and the moon, and every morning it tried again with new colours.
The children laughed when they saw the first painting, but the robot did not give up; it kept practising.
After many months its paintings were beautiful, and people came from far away to see them in the gallery.
Questions, answers, requests, responses, messages, systems, users, assistants, tools, functions, results.
running, walking, talking, thinking, writing, reading, building, testing, loading, streaming, decoding.
"""

_CODE = """\
import Foundation

/// Returns the sum of all values in the array.
func sum(_ values: [Int]) -> Int {
    var total = 0
    for value in values {
        total += value
    }
    return total
}

struct Request: Sendable {
    let id: Int
    let prompt: String
    var maxTokens: Int = 128
}

final class Server {
    private var requests: [Request] = []

    func handle(_ request: Request) throws -> String {
        guard !request.prompt.isEmpty else {
            throw ServerError(reason: "empty prompt")
        }
        requests.append(request)
        return "ok: \\(request.id)"
    }
}

def fibonacci(n):
    \"\"\"Return the n-th Fibonacci number.\"\"\"
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


class Tokenizer:
    def __init__(self, vocab, merges):
        self.vocab = vocab
        self.merges = {pair: rank for rank, pair in enumerate(merges)}

    def encode(self, text):
        if not text:
            return []
        tokens = [self.vocab[ch] for ch in text if ch in self.vocab]
        return tokens


if __name__ == "__main__":
    print(fibonacci(10))
    print([x * x for x in range(5)])
    data = {"name": "test", "values": [1, 2, 3], "enabled": True}

for (int i = 0; i < n; i++) { sum += a[i] * b[i]; }
if (x != NULL && x->next == NULL) return -1;
SELECT name, count(*) FROM users WHERE age >= 18 GROUP BY name ORDER BY 2 DESC;
<div class="message"><p>Hello, world!</p></div>
"""

_UNICODE = """\
Café, naïve, résumé, façade, jalapeño, über, Straße, Ærø, smörgåsbord, déjà vu, coöperation.
Les élèves étaient très contents de voir le château. ¿Dónde está la estación? Größe und Übermaß.
Москва — столица России. Привет, как дела? Спасибо, хорошо.
日本語のテキストです。東京は日本の首都です。中文也可以。你好，世界！
Ελληνικά: γειά σου κόσμε. עברית: שלום עולם. العربية: مرحبا بالعالم.
Emoji: 🙂 🚀 ✨ — quotes “like this” and ‘this’, ellipsis… bullets • and arrows → ← ↑ ↓.
"""

_WORDS = (
    "time person year way day thing man world life hand part child eye woman place work week case point government "
    "company number group problem fact model token request response server client policy engine layer weight tensor "
    "matrix vector kernel memory cache queue stream batch prompt answer question message system user assistant tool "
    "be have do say get make go know take see come think look want give use find tell ask work seem feel try leave "
    "call good new first last long great little own other old right big high different small large next early young "
    "important few public bad same able fast slow simple exact careful quiet bright"
).split()


_SUFFIXES = ["s", "ed", "ing", "er", "ly", "ness", "able", "ful", "less", "ment", "ist", "ive", "ize", "ity"]


@lru_cache(maxsize=1)
def corpus() -> str:
    """The training text: fixed paragraphs plus generated sentences from a small linear congruential generator."""
    state = 12345
    lines = []
    for _ in range(1500):
        words = []
        for _ in range(6 + state % 9):
            state = (state * 1103515245 + 12345) % (1 << 31)
            word = _WORDS[(state >> 8) % len(_WORDS)]
            if (state >> 20) % 3 == 0:
                word += _SUFFIXES[(state >> 4) % len(_SUFFIXES)]
            words.append(word)
        state = (state * 1103515245 + 12345) % (1 << 31)
        sentence = " ".join(words)
        sentence = sentence[0].upper() + sentence[1:] + ".!?,;"[(state >> 4) % 5]
        if (state >> 12) % 7 == 0:
            sentence += f" {(state >> 6) % 100000}"
        lines.append(sentence)
    return _PROSE * 3 + _CODE * 2 + _UNICODE + "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------------------------
# A small, deterministic BPE trainer shared by both vocabulary kinds.
# ---------------------------------------------------------------------------------------------------------------------

def _train_bpe(word_counts: dict[tuple[str, ...], int], merge_count: int,
               can_merge=lambda a, b: True) -> list[tuple[str, str]]:
    """Most frequent adjacent pair first; ties go to the lexicographically smallest pair."""
    words = [list(w) for w in word_counts]
    counts = list(word_counts.values())
    pairs: dict[tuple[str, str], int] = {}
    where: dict[tuple[str, str], set[int]] = {}
    for i, w in enumerate(words):
        for a, b in zip(w, w[1:]):
            if can_merge(a, b):
                pairs[(a, b)] = pairs.get((a, b), 0) + counts[i]
                where.setdefault((a, b), set()).add(i)
    merges: list[tuple[str, str]] = []
    while len(merges) < merge_count and pairs:
        best_count = max(pairs.values())
        if best_count <= 0:
            break
        best = min(p for p, c in pairs.items() if c == best_count)
        merges.append(best)
        a, b = best
        for i in sorted(where.pop(best, ())):
            w = words[i]
            for x, y in zip(w, w[1:]):
                if can_merge(x, y):
                    pairs[(x, y)] -= counts[i]
            merged, j = [], 0
            while j < len(w):
                if j + 1 < len(w) and w[j] == a and w[j + 1] == b:
                    merged.append(a + b)
                    j += 2
                else:
                    merged.append(w[j])
                    j += 1
            words[i] = merged
            for x, y in zip(merged, merged[1:]):
                if can_merge(x, y):
                    pairs[(x, y)] = pairs.get((x, y), 0) + counts[i]
                    where.setdefault((x, y), set()).add(i)
        pairs.pop(best, None)
        for p in [p for p, c in pairs.items() if c <= 0]:
            del pairs[p]
            where.pop(p, None)
    return merges


def _add_common(writer, bos: int | None, eos: int | None, unk: int | None, pad: int | None,
                eot: int | None, add_bos: bool | None, add_eos: bool | None, chat_template: str | None) -> None:
    if bos is not None:
        writer.add_bos_token_id(bos)
    if eos is not None:
        writer.add_eos_token_id(eos)
    if unk is not None:
        writer.add_unk_token_id(unk)
    if pad is not None:
        writer.add_pad_token_id(pad)
    if eot is not None:
        writer.add_eot_token_id(eot)
    if add_bos is not None:
        writer.add_add_bos_token(add_bos)
    if add_eos is not None:
        writer.add_add_eos_token(add_eos)
    if chat_template is not None:
        writer.add_chat_template(chat_template)


# ---------------------------------------------------------------------------------------------------------------------
# SentencePiece (tokenizer.ggml.model = "llama")
# ---------------------------------------------------------------------------------------------------------------------

def spm_pieces(size: int = 1000, special_tokens: Sequence[str] = ()) -> tuple[list[str], list[float], list[int]]:
    """Tokens, scores and types of a SentencePiece-BPE vocabulary with exactly `size` tokens.

    Digits are never merged (split_digits, as LLaMA). Characters seen fewer than 3 times are not pieces (so they
    take the byte fallback, like characters outside SentencePiece's character_coverage)."""
    text = corpus()
    char_counts: dict[str, int] = {}
    for ch in text.replace(" ", "▁"):
        if ch not in "\n\r\t":
            char_counts[ch] = char_counts.get(ch, 0) + 1
    chars = sorted((c for c, n in char_counts.items() if n >= 3), key=lambda c: (-char_counts[c], c))
    charset = set(chars)
    word_counts: dict[tuple[str, ...], int] = {}
    for line in text.split("\n"):
        for word in line.split():
            symbols = tuple(c for c in "▁" + word if c in charset)
            if len(symbols) > 1:
                word_counts[symbols] = word_counts.get(symbols, 0) + 1
    fixed = 3 + 256 + len(special_tokens)
    merge_count = size - fixed - len(chars)
    if merge_count < 0:
        raise ValueError(f"size {size} is too small: needs at least {fixed + len(chars)}")
    merges = _train_bpe(word_counts, merge_count + 64, lambda a, b: not (a.isdigit() or b.isdigit()))
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    scores = [0.0] * len(tokens)
    types = [2, 3, 3] + [6] * 256
    seen = set(tokens)
    rank = 0
    for a, b in merges:
        piece = a + b
        if rank == merge_count:
            break
        if piece in seen:
            continue
        tokens.append(piece)
        seen.add(piece)
        scores.append(-float(rank))
        types.append(1)
        rank += 1
    if rank < merge_count:
        raise ValueError(f"size {size} is too large for the built-in corpus ({fixed + len(chars) + rank} max)")
    for c in chars:
        tokens.append(c)
        scores.append(-float(rank))
        types.append(1)
        rank += 1
    for s in special_tokens:
        tokens.append(s)
        scores.append(0.0)
        types.append(3)
    return tokens, scores, types


def add_spm_vocab(writer, size: int = 1000, chat_template: str | None = None, *,
                  special_tokens: Sequence[str] = (), add_bos: bool = True, add_eos: bool = False,
                  add_space_prefix: bool | None = None, eos_token: str | None = None) -> int:
    """Writes a LLaMA-style SentencePiece vocabulary of `size` tokens; returns the size.

    `special_tokens` (e.g. "<|im_start|>", "<|im_end|>") are appended as control tokens (type 3), as added tokens of
    fine-tuned models are. `eos_token` picks one of them as eos instead of </s>. `add_space_prefix` is written only
    when given (llama.cpp's default for SPM is true)."""
    tokens, scores, types = spm_pieces(size, special_tokens)
    assert len(tokens) == size, (len(tokens), size)
    writer.add_tokenizer_model("llama")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    if add_space_prefix is not None:
        writer.add_add_space_prefix(add_space_prefix)
    eos = tokens.index(eos_token) if eos_token is not None else 2
    _add_common(writer, bos=1, eos=eos, unk=0, pad=None, eot=None, add_bos=add_bos, add_eos=add_eos,
                chat_template=chat_template)
    return len(tokens)


# ---------------------------------------------------------------------------------------------------------------------
# Byte-level BPE (tokenizer.ggml.model = "gpt2")
# ---------------------------------------------------------------------------------------------------------------------

#: The pre-tokenizer regexes llama.cpp uses for each `tokenizer.ggml.pre` (llama-vocab.cpp), used here for training.
PRE_REGEX = {
    "gpt-2": r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+",
    "default": r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+",
    "llama-bpe": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                 r"|\s*[\r\n]+|\s+(?!\S)|\s+",
    "qwen2": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
             r"|\s*[\r\n]+|\s+(?!\S)|\s+",
}

#: Special tokens (type 3) of each family, in vocabulary order, and which of them are bos/eos/pad.
_BPE_SPECIALS = {
    "llama-bpe": dict(
        tokens=["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|reserved_special_token_2|>",
                "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"],
        user_defined=[], bos="<|begin_of_text|>", eos="<|eot_id|>", pad=None, add_bos=True),
    "qwen2": dict(
        tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|fim_prefix|>", "<|fim_middle|>",
                "<|fim_suffix|>"],
        user_defined=["<tool_call>", "</tool_call>"], bos="<|endoftext|>", eos="<|im_end|>", pad="<|endoftext|>",
        add_bos=False),
    "gpt-2": dict(tokens=["<|endoftext|>"], user_defined=[], bos="<|endoftext|>", eos="<|endoftext|>", pad=None,
                  add_bos=False),
}
_BPE_SPECIALS["default"] = _BPE_SPECIALS["gpt-2"]
# StarCoder (digits one by one, then GPT-2's rules) and Qwen3.5 (Qwen2's rules, marks join letters): trained with the
# closest regex above, written with their own pre-tokenizer name.
PRE_REGEX["starcoder"] = PRE_REGEX["gpt-2"].replace(r" ?\p{N}+", r"\p{N}")
_BPE_SPECIALS["starcoder"] = dict(
    tokens=["<|endoftext|>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>", "<filename>"],
    user_defined=[], bos="<|endoftext|>", eos="<|endoftext|>", pad=None, add_bos=False)
PRE_REGEX["qwen35"] = PRE_REGEX["qwen2"].replace(r"\p{L}+", r"[\p{L}\p{M}]+")
_BPE_SPECIALS["qwen35"] = _BPE_SPECIALS["qwen2"]

#: Whole-word tokens that no merge produces (tiktoken-converted vocabularies have many): only llama3's
#: ignore_merges can reach them, so they tell the two paths apart.
_UNMERGED_WORDS = [" Tollgate", " inference", " tokenizer", "Hello", " unreachable"]


@lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map."""
    bs = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def _byte_level(text: str) -> str:
    table = bytes_to_unicode()
    return "".join(table[b] for b in text.encode("utf-8"))


def bpe_vocab(pre: str = "llama-bpe", size: int = 1500) -> tuple[list[str], list[int], list[str], dict]:
    """Tokens, types, merges ("a b") and the special-token description of a byte-level BPE vocabulary."""
    if pre not in PRE_REGEX:
        raise ValueError(f"unknown pre-tokenizer {pre!r}; known: {sorted(PRE_REGEX)}")
    spec = _BPE_SPECIALS[pre]
    table = bytes_to_unicode()
    base = [table[b] for b in sorted(table, key=lambda b: ord(table[b]))]
    extras = [_byte_level(w) for w in _UNMERGED_WORDS]
    fixed = len(base) + len(extras) + len(spec["tokens"]) + len(spec["user_defined"])
    merge_count = size - fixed
    if merge_count < 0:
        raise ValueError(f"size {size} is too small: needs at least {fixed}")
    word_counts: dict[tuple[str, ...], int] = {}
    for piece in regex.findall(PRE_REGEX[pre], corpus()):
        symbols = tuple(_byte_level(piece))
        if len(symbols) > 1:
            word_counts[symbols] = word_counts.get(symbols, 0) + 1
    # Train a few spare merges: merged results that collide with an extra word are dropped below.
    merges = _train_bpe(word_counts, merge_count + 64)
    tokens = list(base)
    seen = set(tokens)
    banned = set(extras)  # merges that would make an extra word reachable, and everything built on them
    kept: list[str] = []
    for a, b in merges:
        if len(tokens) == len(base) + merge_count:
            break
        if a in banned or b in banned or a + b in banned:
            banned.add(a + b)
            continue
        kept.append(f"{a} {b}")  # like HF, a merge whose result already exists stays in the list
        if a + b not in seen:
            tokens.append(a + b)
            seen.add(a + b)
    if len(tokens) < len(base) + merge_count:
        raise ValueError(f"size {size} is too large for the built-in corpus")
    types = [1] * len(tokens)
    for w in extras:
        tokens.append(w)
        types.append(1)
    for s in spec["tokens"]:
        tokens.append(s)
        types.append(3)
    for s in spec["user_defined"]:
        tokens.append(s)
        types.append(4)
    return tokens, types, kept, spec


def add_bpe_vocab(writer, pre: str = "llama-bpe", size: int = 1500, chat_template: str | None = None) -> int:
    """Writes a byte-level BPE vocabulary of `size` tokens with the family's special tokens; returns the size.

    llama-bpe: bos <|begin_of_text|>, eos <|eot_id|>, add_bos_token true (Llama 3.x Instruct).
    qwen2: bos = pad = <|endoftext|>, eos <|im_end|>, add_bos_token false, <tool_call> user-defined (Qwen2.5).
    gpt-2 (and "default", llama.cpp's fallback pre-tokenizer): bos = eos = <|endoftext|>, add_bos_token false."""
    tokens, types, merges, spec = bpe_vocab(pre, size)
    assert len(tokens) == size, (len(tokens), size)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    index = {t: i for i, t in enumerate(tokens)}
    _add_common(writer, bos=index[spec["bos"]], eos=index[spec["eos"]], unk=None,
                pad=index[spec["pad"]] if spec["pad"] else None, eot=None, add_bos=spec["add_bos"], add_eos=False,
                chat_template=chat_template)
    return len(tokens)


def special_token_ids(tokens: Iterable[str]) -> dict[str, int]:
    """Id of every token that looks like a special token (<...>), for fixture scripts that need them."""
    return {t: i for i, t in enumerate(tokens) if t.startswith("<") and t.endswith(">") and not t.startswith("<0x")}


if __name__ == "__main__":
    for label, (toks, *_rest) in [("spm", spm_pieces(1000)), ("llama-bpe", bpe_vocab("llama-bpe", 1500)),
                                  ("qwen2", bpe_vocab("qwen2", 1500))]:
        print(label, len(toks), toks[259:270] if label == "spm" else toks[256:266])
