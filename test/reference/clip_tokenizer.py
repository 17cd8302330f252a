"""Reference ids for lib/tokenizers/clip.ts: transformers v4.34.0's slow CLIPTokenizer WITHOUT ftfy.

Run from the repo root (writes test/fixtures/tokenizers/clip.json):
    REFSRC=/work/refsrc /usr/bin/python3 test/reference/clip_tokenizer.py

Uses the real CLIP vocabulary of the shared tiny-sd-diffusers fixture, and a copy of that tokenizer
folder whose pad token is "!" (as SD 2.x and SDXL's tokenizer_2 ship it; the TS test builds the same
copy with the same two edits).
"""
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, "/work/shared/reference")
import refenv  # noqa: E402

refenv.setup(ftfy=False)
try:
    import ftfy  # noqa: F401
    raise SystemExit("ftfy is importable: the references must come from the tokenizer without ftfy")
except ImportError:
    pass
from transformers import CLIPTokenizer  # noqa: E402

FIXTURE = "/work/shared/fixtures/tiny-sd-diffusers"
TOKENIZER_DIR = os.path.join(FIXTURE, "tokenizer")

LONG = ", ".join(["a highly detailed matte painting of a castle on a hill at sunset"] * 8)
TEXTS = [
    "a photo of an astronaut riding a horse on mars",
    "A PHOTO Of An ASTRONAUT Riding a HoRsE",
    "Hello, world! How's it going?",
    "don't won't I'm you're we've she'll he'd it's",
    "DON'T I'M YOU'RE WE'VE SHE'LL HE'D IT'S",
    "rock'n'roll 'quoted' \"double\" `back` ‘curly’ “quotes” l'été",
    "café naïve résumé Ångström façade",
    "cafe\u0301 decomposed e\u0301 and precomposed \u00e9",
    "日本語のテキスト 中文字符串 한국어 텍스트",
    "emoji 🐱🚀 family 👩\u200d👩\u200d👧 heart ❤️ flag 🇫🇷 thumbs 👍🏽",
    "numbers 123 4.5 1,000,000 3rd 2nd 42nd 2024-01-31 1e-5 0xFF",
    "  multiple   spaces\n\nnewlines\ttabs\r\n end  ",
    "\t\n  \r\n",
    "",
    " ",
    "<|startoftext|>hi<|endoftext|>",
    "a <|endoftext|> b<|startoftext|>c",
    "<|STARTOFTEXT|> upper-case special token text <|EndOfText|>",
    "zero\u0000width\u200bspace\ufffdreplacement\u0007bell\u00adsoft hyphen",
    "İstanbul ΟΔΟΣ Straße ǅemal ﬁne",
    "hyphen-ated under_score snake_case path/to/file.png #hashtag @user $100 50% (parens) [brackets] {braces} a+b=c <tag>",
    "!!!???... wow!! a!b !",
    "non\u00a0breaking\u3000ideographic\u2003em\u2028line\u2029para space",
    "Привет мир Ελληνικά مرحبا بالعالم हिन्दी ภาษาไทย",
    "ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ x² ½ ① Ⅻ ٣",
    "masterpiece, best quality, (extremely detailed:1.2), [[low quality]], ((photorealistic))",
    "supercalifragilisticexpialidocious pneumonoultramicroscopicsilicovolcanoconiosis",
    LONG,
    " ".join(str(i) for i in range(100)),
]


def record(tok, text):
    enc = tok(text)
    padded = tok(text, padding="max_length", max_length=tok.model_max_length, truncation=True)
    return {
        "text": text,
        "tokens": tok.tokenize(text),
        "ids": enc["input_ids"],
        "padded_input_ids": padded["input_ids"],
        "padded_attention_mask": padded["attention_mask"],
    }


def batches(tok):
    out = []
    for texts in (["a cat", "a photo of a dog in the snow", ""], [LONG, "short"]):
        for padding, truncation in (("longest", False), ("longest", True), ("max_length", True), (False, True), (False, False)):
            enc = tok(texts, padding=padding, truncation=truncation, max_length=tok.model_max_length)
            out.append({"texts": texts, "padding": padding, "truncation": truncation,
                        "input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]})
    enc = tok(["a cat sat on the mat", LONG], padding="max_length", truncation=True, max_length=10)
    out.append({"texts": ["a cat sat on the mat", LONG], "padding": "max_length", "truncation": True, "max_length": 10,
                "input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]})
    return out


def describe(tok):
    return {"vocab_size": tok.vocab_size, "model_max_length": tok.model_max_length, "pad_token": str(tok.pad_token),
            "pad_token_id": tok.pad_token_id, "bos_token_id": tok.bos_token_id, "eos_token_id": tok.eos_token_id,
            "unk_token_id": tok.unk_token_id}


def pad_bang_copy(dst):
    """The tokenizer folder with pad_token "!" in tokenizer_config.json and special_tokens_map.json."""
    shutil.copytree(TOKENIZER_DIR, dst)
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        p = os.path.join(dst, name)
        with open(p, encoding="utf-8") as f:
            doc = json.load(f)
        doc["pad_token"] = "!"
        with open(p, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2)


def main():
    with open(os.path.join(FIXTURE, "cases.json"), encoding="utf-8") as f:
        cases = json.load(f)["cases"]
    tok = CLIPTokenizer.from_pretrained(TOKENIZER_DIR)
    assert tok.fix_text is None
    prompts = []
    for c in cases:
        for key, text in (("prompt", c["prompt"]), ("negative_prompt", c["negative_prompt"])):
            prompts.append({"case": c["name"], "field": key, "text": "" if text is None else text})
    with tempfile.TemporaryDirectory() as tmp:
        bang_dir = os.path.join(tmp, "tokenizer")
        pad_bang_copy(bang_dir)
        bang = CLIPTokenizer.from_pretrained(bang_dir)
        bang_texts = ["a cat", "hello world!", "wow!! so cool !", "!", "a ! b", LONG + "!"]
        doc = {
            "about": "transformers v4.34.0 slow CLIPTokenizer without ftfy, on the tiny-sd-diffusers tokenizer folder",
            "script": "test/reference/clip_tokenizer.py",
            "versions": {"transformers": refenv.VERSIONS["transformers"]},
            "tokenizer": describe(tok),
            "texts": [record(tok, t) for t in TEXTS],
            "case_prompts": [{**p, **record(tok, p["text"])} for p in prompts],
            "batches": batches(tok),
            "pad_bang": {"tokenizer": describe(bang), "texts": [record(bang, t) for t in bang_texts],
                         "batches": batches(bang)},
        }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "tokenizers", "clip.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=None, separators=(",", ":"))
        f.write("\n")
    print("wrote", os.path.normpath(path))


if __name__ == "__main__":
    main()
