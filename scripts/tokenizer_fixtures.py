#!/usr/bin/env python3
"""Reference fixtures for the transformer tokenizers and chat templates (Tests/.../Fixtures/transformer/tokenizer/).

Needs: Python 3.11, `gguf` (gguf-py 0.19), `regex`, `llama-cpp-python` (0.3.x; its llama.cpp is the reference),
and scripts/gguf_vocab.py. Deterministic: no randomness, vocabularies are trained by gguf_vocab from its fixed corpus.

    python3 scripts/tokenizer_fixtures.py
        writes the vocab-only GGUFs (spm, spm-phi3, llama-bpe, qwen2, gpt-2, default), tokenizer_cases.json
        (ids from llama_tokenize, pieces from llama_token_to_piece, text from llama_detokenize, eog ids) and
        chat_templates.json (llama_chat_apply_template outputs for chat_template_sources.json).

    python3 scripts/tokenizer_fixtures.py --extract LLAMA_CPP_SRC
        (re)writes chat_template_sources.json from llama.cpp's tests/test-chat-template.cpp and a few of its
        models/templates/*.jinja (real model templates), and unicode_flags.json from its src/unicode-data.cpp (the
        character classes its pre-tokenizers use); run once per llama.cpp version, the results are committed.

    python3 scripts/tokenizer_fixtures.py --real-vocab LLAMA_CPP_SRC/models --out DIR
        references for llama.cpp's own models/ggml-vocab-*.gguf (real vocabularies, too big to commit) into
        DIR/real_cases.json; the Swift test RealVocabularyTests reads it when TOKENIZER_REAL_VOCAB_DIR=DIR.
"""

from __future__ import annotations

import argparse
import ast
import ctypes
import json
import os
import re
import sys
from pathlib import Path

import gguf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gguf_vocab import add_bpe_vocab, add_spm_vocab, bpe_vocab, spm_pieces  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests/LocalModelsTests/Fixtures/transformer/tokenizer"

# ---------------------------------------------------------------------------------------------------------------------
# Test texts: English, Unicode (accents, CJK, emoji, RTL, combining marks), whitespace runs, tabs, newlines, digits,
# code, contractions, special tokens written in the text, the empty string.
# ---------------------------------------------------------------------------------------------------------------------

TEXTS = [
    "",
    " ",
    "  ",
    "   ",
    "\t",
    "\n",
    "\n\n",
    "\n\n\n",
    "\r\n",
    "\r\n\r\n",
    " \n",
    "\t\n",
    "Hello world",
    " Hello world",
    "Hello World",
    "HELLO WORLD",
    "Hello, world! How are you today?",
    "The quick brown fox jumps over the lazy dog.",
    "Tollgate is an inference gateway.",
    "Hello",
    " Hello",
    "  Hello",
    "   Hello",
    "    Hello\n    Hello",
    "Hello\tworld\t\ttab",
    "line one\nline two\n\nline four\r\nline five\r\n\r\n",
    "trailing spaces   ",
    "   leading spaces",
    "multiple     spaces     inside",
    "It's, I'm, you're, we've, they'll, she'd, don't, can't",
    "IT'S I'M YOU'RE WE'VE THEY'LL SHE'D DON'T",
    "'s 't 're 've 'm 'll 'd '",
    "rock 'n' roll",
    "1",
    "12",
    "123",
    "1234",
    "12345",
    "1234567890",
    "3.14159265358979323846",
    "Prices: $1,234.56 (+7.5%) on 2024-01-31 at 10:30.",
    "0123456789 9876543210 00000000000000000000",
    "café naïve résumé façade jalapeño über Straße",
    "cafe\u0301 e\u0301te\u0301 n\u0303 a\u0308\u0301",  # combining marks
    "Москва — столица России.",
    "日本語のテキストです。東京は日本の首都です。",
    "你好，世界！这是一个测试。",
    "한국어 텍스트",
    "שלום עולם",  # RTL
    "مرحبا بالعالم",
    "ελληνικά γειά σου κόσμε",
    "🙂 🚀 ✨ 👍🏽 👨‍👩‍👧‍👦 🇫🇷",
    "emoji🙂inside🚀words",
    "“quotes” ‘single’ … — – • → ← ↑ ↓ © ® ™ € £ ¥",
    "\u00a0non-breaking\u00a0spaces\u2003em\u3000ideographic",
    "zero\u200bwidth\u200djoiner",
    "Ünïcödé ÀÉÎÕÜ àéîõü ÇÑ çñ",
    "def fibonacci(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n",
    "func sum(_ values: [Int]) -> Int {\n    var total = 0\n    for value in values {\n        total += value\n    }\n"
    "    return total\n}\n",
    "if (x != NULL && x->next == NULL) { return -1; }",
    "<div class=\"message\"><p>Hello, world!</p></div>",
    "SELECT name, count(*) FROM users WHERE age >= 18;",
    "a\\b\\c /path/to/file.txt ~/home `backtick` ^caret |pipe| {braces} [brackets]",
    "!!! ??? ... ,,, ;;; ::: --- ___ +++ === ***",
    " , . ! ? ' \" ",
    "Hello ,world . Is it ? Yes ! I ' m here 's",
    "<s>",
    "</s>",
    "<unk>",
    "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n",
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
    "<|endoftext|>",
    "text<|endoftext|>more text<|endoftext|>",
    "<|im_start|><|im_end|><|im_start|>",
    "<|im_start|> spaced <|im_end|>  ",
    "<tool_call>{\"name\": \"f\"}</tool_call>",
    "<|user|>\nHello<|end|>\n<|assistant|>\nHi there<|end|>",
    "<|user|>   spaces after<|end|>   \n<|assistant|>",
    "<s>[INST] Hello [/INST]</s>",
    "Tollgate tokenizer inference unreachable",
    "supercalifragilisticexpialidocious",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "\u0000\u0001\u001f control chars \u007f",
    "mixed 中文 and English 和 numbers 123 ４５６ ①②③",
]

SPM_SPECIALS = ["<|im_start|>", "<|im_end|>"]
PHI3_SPECIALS = ["<|user|>", "<|assistant|>", "<|end|>", "<|system|>", "<|endoftext|>"]

CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
          "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
LLAMA3 = ("{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + "
          "'<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}"
          "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}")


def write_vocab(path: Path, add) -> int:
    writer = gguf.GGUFWriter(str(path), "llama")
    n = add(writer)
    writer.add_block_count(1)
    writer.add_context_length(128)
    writer.add_embedding_length(8)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return n


VOCABS = {
    "spm": lambda w: add_spm_vocab(w, 1000, special_tokens=SPM_SPECIALS, chat_template=CHATML),
    "spm-phi3": lambda w: (w.add_name("Phi3 tokenizer test"),
                           add_spm_vocab(w, 800, special_tokens=PHI3_SPECIALS, eos_token="<|endoftext|>"))[1],
    "llama-bpe": lambda w: add_bpe_vocab(w, "llama-bpe", 1500, chat_template=LLAMA3),
    "qwen2": lambda w: add_bpe_vocab(w, "qwen2", 1500, chat_template=CHATML),
    "gpt-2": lambda w: add_bpe_vocab(w, "gpt-2", 800),
    "default": lambda w: add_bpe_vocab(w, "default", 800),
    "starcoder": lambda w: add_bpe_vocab(w, "starcoder", 600),
    "qwen35": lambda w: add_bpe_vocab(w, "qwen35", 600, chat_template=CHATML),
    # No bos/eos/add_bos keys: llama.cpp's defaults apply (SPM bos 1 / eos 2; BPE bos = eos = 11, add_bos by pre).
    "spm-bare": lambda w: _spm_bare(w),
    "llama-bpe-bare": lambda w: _bpe_bare(w),
}


def _spm_bare(writer) -> int:
    tokens, scores, types = spm_pieces(600)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    return len(tokens)


def _bpe_bare(writer) -> int:
    tokens, types, merges, _ = bpe_vocab("llama-bpe", 700)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("llama-bpe")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    return len(tokens)


# ---------------------------------------------------------------------------------------------------------------------
# llama.cpp through llama-cpp-python's low-level bindings
# ---------------------------------------------------------------------------------------------------------------------


def _quiet_llama():
    import llama_cpp

    @llama_cpp.llama_log_callback
    def _log(level, text, data):
        pass

    llama_cpp.llama_log_set(_log, ctypes.c_void_p())
    _quiet_llama.keep = _log  # keep the callback alive
    llama_cpp.llama_backend_init()
    return llama_cpp


class Reference:
    """A vocab-only llama.cpp model."""

    def __init__(self, path: Path):
        self.ll = _quiet_llama()
        params = self.ll.llama_model_default_params()
        params.vocab_only = True
        self.model = self.ll.llama_model_load_from_file(str(path).encode(), params)
        if not self.model:
            raise RuntimeError(f"llama.cpp cannot load {path}")
        self.vocab = self.ll.llama_model_get_vocab(self.model)
        self.n_vocab = self.ll.llama_vocab_n_tokens(self.vocab)

    def tokenize(self, text: bytes, add_special: bool, parse_special: bool) -> list[int]:
        n_max = len(text) + 16
        buf = (self.ll.llama_token * n_max)()
        n = self.ll.llama_tokenize(self.vocab, text, len(text), buf, n_max, add_special, parse_special)
        assert n >= 0, n
        return list(buf[:n])

    def piece(self, token: int, special: bool) -> bytes:
        buf = ctypes.create_string_buffer(256)
        n = self.ll.llama_token_to_piece(self.vocab, token, buf, 256, 0, special)
        assert n >= 0
        return buf.raw[:n]

    def detokenize(self, tokens: list[int], special: bool) -> bytes:
        arr = (self.ll.llama_token * max(len(tokens), 1))(*tokens)
        size = 64 + 16 * len(tokens)
        buf = ctypes.create_string_buffer(size)
        n = self.ll.llama_detokenize(self.vocab, arr, len(tokens), buf, size, False, special)
        assert n >= 0
        return buf.raw[:n]

    def special_ids(self) -> dict:
        null = -1
        ids = {name: getattr(self.ll, f"llama_vocab_{name}")(self.vocab) for name in ("bos", "eos", "eot", "pad")}
        ids = {k: (None if v == null else v) for k, v in ids.items()}
        ids["add_bos"] = bool(self.ll.llama_vocab_get_add_bos(self.vocab))
        ids["add_eos"] = bool(self.ll.llama_vocab_get_add_eos(self.vocab))
        ids["eog"] = [t for t in range(self.n_vocab) if self.ll.llama_vocab_is_eog(self.vocab, t)]
        return ids

    def cases(self, texts: list[str]) -> list[dict]:
        out = []
        for text in texts:
            data = text.encode()
            for add_special, parse_special in ((True, False), (False, False), (True, True), (False, True)):
                ids = self.tokenize(data, add_special, parse_special)
                case = dict(text=text, add_special=add_special, parse_special=parse_special, ids=ids)
                if add_special == parse_special:  # decoding checked on half of the cases, to keep the file small
                    case.update(decoded=self.detokenize(ids, False).hex(),
                                decoded_special=self.detokenize(ids, True).hex())
                out.append(case)
        return out


def tokenizer_fixtures() -> None:
    result = {}
    for name, add in VOCABS.items():
        path = OUT / f"{name}.gguf"
        n = write_vocab(path, add)
        ref = Reference(path)
        assert ref.n_vocab == n
        result[name] = dict(
            file=f"tokenizer/{name}.gguf", n_vocab=n, **ref.special_ids(),
            pieces=[ref.piece(t, False).hex() for t in range(n)],
            pieces_special=[ref.piece(t, True).hex() for t in range(n)],
            cases=ref.cases(TEXTS))
        print(f"{name}: {n} tokens, {len(result[name]['cases'])} cases, {path.stat().st_size} bytes")
    with open(OUT / "tokenizer_cases.json", "w") as f:
        json.dump(result, f, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


# ---------------------------------------------------------------------------------------------------------------------
# Chat templates
# ---------------------------------------------------------------------------------------------------------------------

CONVERSATIONS = {
    "standard": [
        ("system", "You are a helpful assistant"), ("user", "Hello"), ("assistant", "Hi there"),
        ("user", "Who are you"), ("assistant", "   I am an assistant   "), ("user", "Another question"),
    ],
    "user-only": [("user", "What is 2 + 2?")],
    "no-system": [("user", "Hi"), ("assistant", "Hello! How can I help?"), ("user", "Tell me a joke.")],
    "system-user": [("system", "  Be brief.\n"), ("user", "\tSummarise this:\nline one\nline two  ")],
    "unicode": [("system", "Réponds en français 🙂"), ("user", "日本語で答えて"), ("assistant", "はい。"),
                ("user", "مرحبا")],
    "tool": [("system", "Use tools."), ("user", "Weather?"), ("assistant", "<tool_call>{}</tool_call>"),
             ("tool", "{\"temp\": 21}"), ("user", "Thanks")],
    "empty": [],
}

# Real templates from llama.cpp's models/templates, one per family that test-chat-template.cpp does not cover.
JINJA_FILES = [
    "meta-llama-Llama-3.1-8B-Instruct.jinja", "Qwen-Qwen2.5-7B-Instruct.jinja", "microsoft-Phi-3.5-mini-instruct.jinja",
    "google-gemma-2-2b-it.jinja", "mistralai-Mistral-Nemo-Instruct-2407.jinja",
    "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", "ibm-granite-granite-3.3-2B-Instruct.jinja",
    "openai-gpt-oss-120b.jinja", "Qwen-Qwen3-0.6B.jinja", "HuggingFaceTB-SmolLM3-3B.jinja",
]


def extract_unicode_flags(llama_src: Path) -> None:
    """llama.cpp's codepoint classes: [first codepoint, flags] ranges (each up to the next) and the \\s set."""
    source = (llama_src / "src/unicode-data.cpp").read_text()
    body = re.search(r"unicode_ranges_flags = \{.*?\n(.*?)\n\};", source, re.S).group(1)
    ranges = [[int(a, 16), int(b, 16)] for a, b in re.findall(r"\{0x([0-9A-F]+), 0x([0-9A-F]+)\}", body)]
    space = re.search(r"unicode_set_whitespace = \{(.*?)\};", source, re.S).group(1)
    whitespace = [int(x, 16) for x in re.findall(r"0x([0-9A-F]+)", space)]
    with open(OUT / "unicode_flags.json", "w") as f:
        json.dump(dict(source="llama.cpp src/unicode-data.cpp", ranges=ranges, whitespace=whitespace), f)
    print(f"{len(ranges)} codepoint ranges")


def extract_templates(llama_src: Path) -> None:
    """Template strings of test-chat-template.cpp (name + template_str) and a few real .jinja files."""
    source = (llama_src / "tests/test-chat-template.cpp").read_text()
    literal = r'(?:u8|U8C\()?("(?:[^"\\]|\\.)*")\)?'
    entries = []
    pattern = re.compile(r'/\* \.name= \*/\s*' + literal + r',\s*/\* \.template_str= \*/\s*' + literal, re.S)
    for m in pattern.finditer(source):
        name, template = (ast.literal_eval(x) for x in m.groups())
        entries.append(dict(name=name, source="tests/test-chat-template.cpp", template=template))
    for file in JINJA_FILES:
        path = llama_src / "models/templates" / file
        if path.exists():
            entries.append(dict(name=file.removesuffix(".jinja"), source=f"models/templates/{file}",
                                template=path.read_text()))
    with open(OUT / "chat_template_sources.json", "w") as f:
        json.dump(entries, f, ensure_ascii=False, indent=1)
    print(f"{len(entries)} templates extracted")


def apply_template(ll, template: str, messages, add_ass: bool) -> str | None:
    keep = [(r.encode(), c.encode()) for r, c in messages]
    arr = (ll.llama_chat_message * max(len(keep), 1))()
    for i, (r, c) in enumerate(keep):
        arr[i].role = r
        arr[i].content = c
    size = 1 << 16
    buf = ctypes.create_string_buffer(size)
    n = ll.llama_chat_apply_template(template.encode(), arr, len(keep), add_ass, buf, size)
    if n < 0:
        return None
    assert n < size
    return buf.raw[:n].decode()


def chat_fixtures() -> None:
    ll = _quiet_llama()
    sources = json.loads((OUT / "chat_template_sources.json").read_text())
    # Family names as policies give them: llama.cpp accepts its built-in names directly.
    n = ll.llama_chat_builtin_templates(None, 0)
    names = (ctypes.c_char_p * n)()
    ll.llama_chat_builtin_templates(names, n)
    builtins = sorted(x.decode() for x in names)
    templates = [dict(name=f"builtin:{b}", source="llama_chat_builtin_templates", template=b) for b in builtins]
    templates += sources + [dict(name="not a template", source="invented", template="{{ unknown }}")]
    cases = []
    for t in templates:
        outputs = {}
        for conv, messages in CONVERSATIONS.items():
            for add_ass in (True, False):
                outputs[f"{conv}/{int(add_ass)}"] = apply_template(ll, t["template"], messages, add_ass)
        cases.append(dict(name=t["name"], template=t["template"], outputs=outputs))
    with open(OUT / "chat_templates.json", "w") as f:
        json.dump(dict(builtins=builtins, conversations=CONVERSATIONS, cases=cases), f, ensure_ascii=False,
                  separators=(",", ":"))
    print(f"{len(cases)} chat templates, {sum(c['outputs']['standard/1'] is None for c in cases)} unsupported")


# ---------------------------------------------------------------------------------------------------------------------
# llama.cpp's real vocabularies (local comparison only)
# ---------------------------------------------------------------------------------------------------------------------


def real_vocab(models: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    result = {}
    for path in sorted(models.glob("ggml-vocab-*.gguf")):
        texts = list(TEXTS)
        inp = path.with_name(path.name + ".inp")
        if inp.exists():
            texts += inp.read_text().split("\n__ggml_vocab_test__\n")
        reader = gguf.GGUFReader(str(path))
        field = reader.fields.get("tokenizer.ggml.model")
        model = bytes(field.parts[field.data[0]]).decode() if field else "?"
        try:
            ref = Reference(path)
        except RuntimeError as e:
            print(f"{path.name}: {e}")
            continue
        result[path.name] = dict(file=str(path), model=model, n_vocab=ref.n_vocab, **ref.special_ids(),
                                 cases=ref.cases(texts))
        print(f"{path.name}: {model}, {ref.n_vocab} tokens, {len(texts)} texts")
    with open(out / "real_cases.json", "w") as f:
        json.dump(result, f, ensure_ascii=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--extract", type=Path, metavar="LLAMA_CPP_SRC")
    parser.add_argument("--real-vocab", type=Path, metavar="MODELS_DIR")
    parser.add_argument("--out", type=Path, default=Path("/tmp/tokenizer-real-vocab"))
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.extract:
        extract_templates(args.extract)
        extract_unicode_flags(args.extract)
    elif args.real_vocab:
        real_vocab(args.real_vocab, args.out)
    else:
        tokenizer_fixtures()
        chat_fixtures()


if __name__ == "__main__":
    main()
