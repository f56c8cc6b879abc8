"""What a model is, read from its files without loading a tensor (Annex IV 2(c), Annex XI 1(d), 1(e)).

The parameter count and the stored numeric types come from the safetensors headers
(the JSON header at the start of each file lists every tensor's dtype and shape; the
safetensors library reads it without touching the data); layers, hidden size, attention
and key/value heads, context length, vocabulary size and model type come from
``config.json``, under the names Hugging Face transformers gives them (with the older
GPT-2 style aliases). A LoRA adapter's trainable parameter count is the sum over the
tensors of ``adapter_model.safetensors`` (Hu et al. 2021: two low-rank matrices per
adapted weight).

Nothing here imports torch: a dossier reads it in milliseconds.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ModelError

# config.json keys for each attribute, in order of preference (transformers names first).
CONFIG_KEYS: dict[str, tuple[str, ...]] = {
    "layers": ("num_hidden_layers", "n_layer", "num_layers", "n_layers"),
    "hidden_size": ("hidden_size", "n_embd", "d_model", "dim"),
    "attention_heads": ("num_attention_heads", "n_head", "num_heads", "n_heads"),
    "kv_heads": ("num_key_value_heads", "num_kv_heads", "n_kv_heads", "multi_query_group_num"),
    "context_length": ("max_position_embeddings", "n_positions", "n_ctx", "max_seq_len", "seq_length"),
    "vocab_size": ("vocab_size", "padded_vocab_size"),
    "intermediate_size": ("intermediate_size", "n_inner", "ffn_dim"),
}


@dataclass(frozen=True)
class AdapterArchitecture:
    """A PEFT adapter: its method, rank, scaling, adapted modules and trainable parameters."""

    peft_type: str
    rank: int | None
    alpha: float | None
    target_modules: list[str]
    trainable_parameters: int | None
    tensors: int
    dtypes: dict[str, int]


@dataclass(frozen=True)
class ModelArchitecture:
    """A causal language model as its files describe it; a field its files do not give is None."""

    model_type: str | None
    architectures: list[str]
    parameters: int | None
    tensors: int
    dtypes: dict[str, int] = field(default_factory=dict)  # stored dtype -> number of parameters
    layers: int | None = None
    hidden_size: int | None = None
    attention_heads: int | None = None
    kv_heads: int | None = None
    intermediate_size: int | None = None
    context_length: int | None = None
    vocab_size: int | None = None
    tied_embeddings: bool | None = None
    weight_files: list[str] = field(default_factory=list)
    adapter: AdapterArchitecture | None = None
    modality: str = "text in, text out"

    @property
    def attention(self) -> str | None:
        """Multi-head, grouped-query or multi-query attention, from the head counts (Ainslie et al. 2023)."""
        if self.attention_heads is None:
            return None
        kv = self.kv_heads or self.attention_heads
        if kv == self.attention_heads:
            return f"multi-head attention, {self.attention_heads} heads"
        if kv == 1:
            return f"multi-query attention, {self.attention_heads} query heads sharing 1 key/value head"
        return f"grouped-query attention, {self.attention_heads} query heads, {kv} key/value heads"

    @property
    def stored_dtype(self) -> str | None:
        """The numeric type holding most parameters."""
        return max(self.dtypes, key=lambda d: self.dtypes[d]) if self.dtypes else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"attention": self.attention, "stored_dtype": self.stored_dtype}


def safetensors_inventory(paths: list[Path]) -> tuple[int, int, dict[str, int]]:
    """(parameters, tensors, parameters per dtype) over safetensors files, from their headers alone."""
    from safetensors import SafetensorError, safe_open

    parameters = tensors = 0
    by_dtype: Counter[str] = Counter()
    for path in paths:
        try:
            with safe_open(str(path), framework="numpy") as handle:
                for key in handle.keys():  # noqa: SIM118  (a safetensors handle, not a dict)
                    view = handle.get_slice(key)
                    count = math.prod(view.get_shape())
                    parameters += count
                    tensors += 1
                    by_dtype[str(view.get_dtype())] += count
        except SafetensorError as exc:
            raise ModelError(f"{path}: not a valid safetensors file ({str(exc).splitlines()[0]})") from None
        except OSError as exc:
            raise ModelError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return parameters, tensors, dict(by_dtype)


def _config_value(config: dict[str, Any], name: str) -> int | None:
    for key in CONFIG_KEYS[name]:
        value = config.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    text = config.get("text_config")  # multimodal configs nest the language model's
    if isinstance(text, dict) and text is not config:
        return _config_value(text, name)
    return None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: unreadable ({exc})") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path}: expected a JSON object")
    return data


def adapter_architecture(adapter_dir: Path) -> AdapterArchitecture:
    """A PEFT adapter's settings and its trainable parameter count (the tensors it stores)."""
    config = _read_json(adapter_dir / "adapter_config.json")
    weights = adapter_dir / "adapter_model.safetensors"
    parameters, tensors, dtypes = safetensors_inventory([weights]) if weights.is_file() else (None, 0, {})
    targets = config.get("target_modules") or []
    rank = config.get("r")
    alpha = config.get("lora_alpha")
    return AdapterArchitecture(
        peft_type=str(config.get("peft_type", "LORA")),
        rank=rank if isinstance(rank, int) else None,
        alpha=float(alpha) if isinstance(alpha, (int, float)) else None,
        target_modules=sorted(str(t) for t in targets) if isinstance(targets, list) else [str(targets)],
        trainable_parameters=parameters,
        tensors=tensors,
        dtypes=dtypes,
    )


def model_architecture(base_dir: Path, adapter_dir: Path | None = None) -> ModelArchitecture:
    """Read ``config.json`` and the safetensors headers of ``base_dir`` (and an adapter's, if given)."""
    config = _read_json(base_dir / "config.json")
    files = sorted(base_dir.glob("*.safetensors"))
    parameters, tensors, dtypes = safetensors_inventory(files) if files else (None, 0, {})
    architectures = config.get("architectures") or []
    tied = config.get("tie_word_embeddings")
    return ModelArchitecture(
        model_type=str(config["model_type"]) if config.get("model_type") else None,
        architectures=[str(a) for a in architectures] if isinstance(architectures, list) else [],
        parameters=parameters,
        tensors=tensors,
        dtypes=dtypes,
        layers=_config_value(config, "layers"),
        hidden_size=_config_value(config, "hidden_size"),
        attention_heads=_config_value(config, "attention_heads"),
        kv_heads=_config_value(config, "kv_heads"),
        intermediate_size=_config_value(config, "intermediate_size"),
        context_length=_config_value(config, "context_length"),
        vocab_size=_config_value(config, "vocab_size"),
        tied_embeddings=tied if isinstance(tied, bool) else None,
        weight_files=[p.name for p in files],
        adapter=adapter_architecture(adapter_dir) if adapter_dir is not None else None,
    )


def describe_parameters(count: int | None) -> str:
    """``1,234,567 (1.23 M)``: the exact count and a rounded reading."""
    if count is None:
        return "unknown"
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if count >= size:
            return f"{count:,} ({count / size:.3g} {suffix})"
    return f"{count:,}"
