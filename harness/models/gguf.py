"""A Llama model directory (safetensors, byte-level BPE tokenizer) as one GGUF file for llama.cpp.

llama.cpp (and llama-cpp-python's OpenAI-compatible server) reads models as GGUF. Its own
converter, ``convert_hf_to_gguf.py``, recognises a tokenizer by the hash of known
pre-tokenizers and refuses any other, so harness ships this small converter for the
models it builds itself (:func:`harness.models.tiny.build_tiny_model`) and for users who
want to serve a Llama-architecture model of their own with llama.cpp. It needs numpy,
safetensors, tokenizers and the ``gguf`` package, not torch and not a llama.cpp checkout.

What it writes follows llama.cpp's ``convert_hf_to_gguf.py`` (``LlamaModel``):

- every tensor in float32 (``general.file_type`` ALL_F32), under llama.cpp's names
  (``token_embd``, ``blk.N.attn_q`` ...);
- the query and key projections permuted from Hugging Face's rotate-half RoPE layout to
  llama.cpp's interleaved pairs (``LlamaModel.permute``; with ``n_head`` for queries and
  ``n_head_kv`` for keys). Without it every log-probability is wrong by up to about 2 nats;
- the tokenizer as ``tokenizer.ggml.model = "gpt2"`` with ``tokenizer.ggml.pre = "gpt-2"``,
  which selects the single GPT-2 split expression that Hugging Face's
  ``ByteLevel(use_regex=True)`` pre-tokenizer applies (llama.cpp's ``"default"`` would add
  digit and punctuation splits and tokenize differently);
- ``tokenizer.ggml.add_bos_token`` as the tokenizer itself behaves (it is asked to encode
  ``"a"``), and the chat template.

Only what it can convert faithfully is accepted: a ``LlamaForCausalLM`` with plain RoPE
and a byte-level BPE tokenizer; anything else is a :class:`~harness.errors.ModelError`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import ModelError

if TYPE_CHECKING:
    import numpy as np

# GGUF token types (llama.cpp's llama_token_type)
TOKEN_NORMAL, TOKEN_CONTROL, TOKEN_USER_DEFINED, TOKEN_UNUSED = 1, 3, 4, 5


def permute_qk(weight: np.ndarray, n_head: int) -> np.ndarray:
    """A query or key projection in llama.cpp's RoPE layout (``LlamaModel.permute`` of its converter).

    Hugging Face's Llama rotates the pairs (i, i + d/2) of each head; llama.cpp rotates
    (2i, 2i + 1). Reordering the rows of each head makes the two the same computation.
    """
    rows = weight.shape[0]
    return weight.reshape(n_head, 2, rows // n_head // 2, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def convert_to_gguf(model_dir: str | Path, out_path: str | Path) -> Path:
    """Write the model in ``model_dir`` to ``out_path`` as a float32 GGUF file; returns ``out_path``."""
    import gguf
    import numpy as np
    from safetensors.numpy import load_file

    source = Path(model_dir)
    config = _json(source / "config.json")
    tokenizer_json = _json(source / "tokenizer.json")
    tokenizer_config = _json(source / "tokenizer_config.json")
    _check_convertible(source, config, tokenizer_json)

    n_head = int(config["num_attention_heads"])
    n_kv = int(config.get("num_key_value_heads") or n_head)
    hidden, n_layer = int(config["hidden_size"]), int(config["num_hidden_layers"])
    head_dim = int(config.get("head_dim") or hidden // n_head)

    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(out), "llama")
    writer.add_name(source.name)
    writer.add_context_length(int(config["max_position_embeddings"]))
    writer.add_embedding_length(hidden)
    writer.add_block_count(n_layer)
    writer.add_feed_forward_length(int(config["intermediate_size"]))
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_kv)
    writer.add_key_length(head_dim)
    writer.add_value_length(head_dim)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(_rope_theta(config))
    writer.add_layer_norm_rms_eps(float(config["rms_norm_eps"]))
    writer.add_vocab_size(int(config["vocab_size"]))
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    _add_tokenizer(writer, source, config, tokenizer_json, tokenizer_config)

    tensors: dict[str, np.ndarray] = {}
    for shard in sorted(source.glob("*.safetensors")):
        tensors.update(load_file(str(shard)))

    def put(name: str, array: np.ndarray) -> None:
        writer.add_tensor(name, np.ascontiguousarray(array.astype(np.float32)))

    put("token_embd.weight", tensors["model.embed_tokens.weight"])
    for i in range(n_layer):
        layer = f"model.layers.{i}."
        put(f"blk.{i}.attn_norm.weight", tensors[layer + "input_layernorm.weight"])
        put(f"blk.{i}.attn_q.weight", permute_qk(tensors[layer + "self_attn.q_proj.weight"], n_head))
        put(f"blk.{i}.attn_k.weight", permute_qk(tensors[layer + "self_attn.k_proj.weight"], n_kv))
        put(f"blk.{i}.attn_v.weight", tensors[layer + "self_attn.v_proj.weight"])
        put(f"blk.{i}.attn_output.weight", tensors[layer + "self_attn.o_proj.weight"])
        put(f"blk.{i}.ffn_norm.weight", tensors[layer + "post_attention_layernorm.weight"])
        put(f"blk.{i}.ffn_gate.weight", tensors[layer + "mlp.gate_proj.weight"])
        put(f"blk.{i}.ffn_up.weight", tensors[layer + "mlp.up_proj.weight"])
        put(f"blk.{i}.ffn_down.weight", tensors[layer + "mlp.down_proj.weight"])
    put("output_norm.weight", tensors["model.norm.weight"])
    put("output.weight", tensors.get("lm_head.weight", tensors["model.embed_tokens.weight"]))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out


def tokenizer_adds_bos(model_dir: str | Path) -> bool:
    """Whether the directory's tokenizer prepends its BOS token when it encodes a text."""
    from tokenizers import Tokenizer

    source = Path(model_dir)
    bos = _token_text(_json(source / "tokenizer_config.json").get("bos_token"))
    tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
    bos_id = tokenizer.token_to_id(bos) if bos else None
    return bos_id is not None and tokenizer.encode("a").ids[:1] == [bos_id]


def _check_convertible(source: Path, config: dict[str, Any], tokenizer_json: dict[str, Any]) -> None:
    architectures = config.get("architectures") or []
    if architectures != ["LlamaForCausalLM"]:
        raise ModelError(
            f"{source}: only LlamaForCausalLM converts to GGUF here, not {', '.join(architectures) or '?'}"
        )
    rope = config.get("rope_parameters") or {}
    scaling = config.get("rope_scaling") or {}
    if rope.get("rope_type", "default") != "default" or scaling:
        raise ModelError(f"{source}: RoPE scaling ({rope.get('rope_type') or scaling}) is not converted to GGUF here")
    model = tokenizer_json.get("model") or {}
    pre = tokenizer_json.get("pre_tokenizer") or {}
    if model.get("type") != "BPE" or pre.get("type") != "ByteLevel" or not pre.get("use_regex", True):
        raise ModelError(
            f"{source}: only a byte-level BPE tokenizer (ByteLevel pre-tokenizer with its GPT-2 split) converts "
            "to GGUF here"
        )
    if not any(source.glob("*.safetensors")):
        raise ModelError(f"{source}: no safetensors weights to convert")


def _rope_theta(config: dict[str, Any]) -> float:
    """RoPE's base frequency: ``rope_theta`` (transformers 4) or ``rope_parameters.rope_theta`` (5)."""
    rope = config.get("rope_parameters") or {}
    return float(rope.get("rope_theta") or config.get("rope_theta") or 10000.0)


def _add_tokenizer(
    writer: Any,
    source: Path,
    config: dict[str, Any],
    tokenizer_json: dict[str, Any],
    tokenizer_config: dict[str, Any],
) -> None:
    model = tokenizer_json["model"]
    vocab: dict[str, int] = dict(model["vocab"])
    added = {str(t["content"]): t for t in tokenizer_json.get("added_tokens", [])}
    for content, token in added.items():
        vocab[content] = int(token["id"])
    by_id = {i: t for t, i in vocab.items()}
    tokens: list[str] = []
    types: list[int] = []
    for i in range(int(config["vocab_size"])):
        if i not in by_id:  # rows of the embedding matrix no token uses
            tokens.append(f"[PAD{i}]")
            types.append(TOKEN_UNUSED)
            continue
        text = by_id[i]
        tokens.append(text)
        if text in added:
            types.append(TOKEN_CONTROL if added[text].get("special") else TOKEN_USER_DEFINED)
        else:
            types.append(TOKEN_NORMAL)
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]

    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    for role, add in (
        ("bos_token", writer.add_bos_token_id),
        ("eos_token", writer.add_eos_token_id),
        ("pad_token", writer.add_pad_token_id),
        ("unk_token", writer.add_unk_token_id),
    ):
        special = _token_text(tokenizer_config.get(role))
        if special is not None and special in vocab:
            add(vocab[special])
    writer.add_add_bos_token(tokenizer_adds_bos(source))
    writer.add_add_eos_token(False)
    template_file = source / "chat_template.jinja"  # transformers 5 keeps the template beside the config
    template = (
        template_file.read_text(encoding="utf-8") if template_file.is_file() else tokenizer_config.get("chat_template")
    )
    if isinstance(template, str) and template:
        writer.add_chat_template(template)


def _token_text(value: object) -> str | None:
    """A special token as tokenizer_config.json names it: a string, or an AddedToken object."""
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) else None


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: unreadable ({exc})") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path}: expected a JSON object")
    return data
