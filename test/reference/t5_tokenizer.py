"""Reference ids for lib/tokenizers/t5.ts: transformers v4.34.0's slow T5Tokenizer (SentencePiece)
on the small T5 vocabulary the builder writes (lib/onnx/builder/sd3/t5-tokenizer-files.ts).

The Rust `tokenizers` package (T5TokenizerFast) is not available here, so the reference is the slow
tokenizer, which runs the sentencepiece library (Debian python3-sentencepiece) on a spiece.model.
This script writes that spiece.model from the pieces and scores of the builder's tokenizer.json
(Unigram, unk id 2, pad 0, eos 1, no bos; identity normalizer with SentencePiece's dummy prefix and
whitespace clean-up), so both sides hold the same model.

Regenerate (from the repo root):
    T5_TOKENIZER_OUT=/tmp/t5-tokenizer PATH=$PWD/node_modules/.bin:$PATH npx vitest run test/tokenizers/t5.test.ts
    REFSRC=/work/refsrc /usr/bin/python3 test/reference/t5_tokenizer.py /tmp/t5-tokenizer/tokenizer_3
"""
import json
import os
import sys
import tempfile

sys.path.insert(0, "/work/shared/reference")
import refenv  # noqa: E402

torch = refenv.setup()
import types  # noqa: E402

# tokenization_t5 imports `import_protobuf` from convert_slow_tokenizer, which imports the absent Rust
# `tokenizers` at module level; import_protobuf is only called with legacy=False, so a stand-in module
# that refuses to be used is enough for the legacy=True tokenizer run here.
_stub = types.ModuleType("transformers.convert_slow_tokenizer")
_stub.import_protobuf = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("not available: legacy=True only"))
sys.modules["transformers.convert_slow_tokenizer"] = _stub
from sentencepiece import sentencepiece_model_pb2 as sp_pb2  # noqa: E402
from transformers import T5Tokenizer  # noqa: E402

OUT = os.path.join("test", "fixtures", "tokenizers", "t5.json")
TEXTS = [
    "a photo of an astronaut riding a horse on the moon",
    "A Photo Of An Astronaut",
    "cozy cabin in a pine forest at night, warm light, highly detailed",
    "portrait of a cat wearing a hat, studio lighting, 4k",
    "walking cats jumped higher",
    "  leading and   repeated   spaces  ",
    "unknown: zebra ü ß 42 ∑",
    "isometric pixel art of a tiny robot's workshop",
    "",
]
LENGTHS = [2, 5, 8, 77, 256]  # max_length 1 leaves no room for a token before </s>: the slow tokenizer then skips truncation


def spiece_model(tokenizer_json):
    model = tokenizer_json["model"]
    proto = sp_pb2.ModelProto()
    for i, (piece, score) in enumerate(model["vocab"]):
        p = proto.pieces.add()
        p.piece, p.score = piece, score
        p.type = (sp_pb2.ModelProto.SentencePiece.UNKNOWN if i == model["unk_id"]
                  else sp_pb2.ModelProto.SentencePiece.CONTROL if piece in ("<pad>", "</s>")
                  else sp_pb2.ModelProto.SentencePiece.NORMAL)
    t = proto.trainer_spec
    t.model_type = sp_pb2.TrainerSpec.UNIGRAM
    t.unk_id, t.pad_id, t.eos_id, t.bos_id = model["unk_id"], 0, 1, -1
    t.vocab_size = len(model["vocab"])
    n = proto.normalizer_spec
    n.name, n.add_dummy_prefix, n.remove_extra_whitespaces, n.escape_whitespaces = "identity", True, True, True
    return proto.SerializeToString()


def main(folder):
    with open(os.path.join(folder, "tokenizer.json"), encoding="utf-8") as f:
        tj = json.load(f)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "spiece.model")
        with open(path, "wb") as f:
            f.write(spiece_model(tj))
        tok = T5Tokenizer(path, extra_ids=0, legacy=True)
        cases = []
        for text in TEXTS:
            entry = {"text": text, "tokens": tok.tokenize(text), "ids": tok(text).input_ids, "padded": {}}
            for n in LENGTHS:
                enc = tok(text, padding="max_length", max_length=n, truncation=True, add_special_tokens=True)
                entry["padded"][str(n)] = {"input_ids": enc.input_ids, "attention_mask": enc.attention_mask}
            cases.append(entry)
    out = {"about": "transformers v4.34.0 slow T5Tokenizer (sentencepiece) on the builder's small T5 vocabulary",
           "versions": {"transformers": refenv.VERSIONS["transformers"], "sentencepiece": __import__("sentencepiece").__version__},
           "vocab_size": len(tj["model"]["vocab"]), "cases": cases}
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("written", OUT)


if __name__ == "__main__":
    main(sys.argv[1])
