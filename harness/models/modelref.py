"""ModelRef: which model a run measures, checked before anything heavy is loaded.

Loading is safe by default: safetensors weights only (``allow_pickle`` opts in to
``*.bin``/``*.pt`` pickles, which can run code on load) and ``trust_remote_code`` off.

A reference's fingerprint is defined by its kind: for a local directory or a hub
snapshot it is a SHA-256 over the bytes of the configuration, tokenizer, weight and
adapter files, so it vouches for exactly those bytes (not for the code that runs them).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from harness.errors import ModelError, os_error_text
from harness.files.hashing import combine_digests, sha256_file, sha256_text

CONFIG_FILES = ("config.json", "generation_config.json")
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "tokenizer.model",
    "vocab.json",
    "merges.txt",
    "chat_template.jinja",
    "chat_template.json",
    "added_tokens.json",
)
SAFE_WEIGHT_GLOBS = ("*.safetensors", "model.safetensors.index.json")
PICKLE_WEIGHT_GLOBS = ("*.bin", "*.pt", "*.pth", "pytorch_model.bin.index.json")
ADAPTER_WEIGHT_FILES = ("adapter_model.safetensors", "adapter_model.bin")
DTYPES = ("float32", "bfloat16", "float16", "auto")
DEVICE_PATTERN = re.compile(r"cpu|mps|cuda(?::\d{1,3})?")
DEVICES = "cpu, cuda, cuda:N or mps"

if TYPE_CHECKING:
    from peft import PeftModel
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

_LORA_KEY = re.compile(r"layers\.(\d+)\..*\.(\w+)\.lora_A(?:\.\w+)?\.weight$")


@dataclass(frozen=True)
class ModelRef:
    """A base model (local directory or hub id), an optional PEFT adapter, and how to load them."""

    base: str
    adapter: str | None = None
    revision: str | None = None
    dtype: str = "float32"
    device: str = "cpu"
    allow_pickle: bool = False
    trust_remote_code: bool = False

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ModelError(f"dtype {self.dtype!r} is not one of {', '.join(DTYPES)}")
        if not valid_device(self.device):
            raise ModelError(f"device {self.device!r} is not one of {DEVICES}")

    def to_dict(self) -> dict[str, Any]:
        """The reference as plain data (for run specs); ``ModelRef(**d)`` rebuilds it."""
        return asdict(self)

    # ----------------------------------------------------------------- resolution
    @property
    def kind(self) -> Literal["local", "hub"]:
        return "local" if Path(self.base).expanduser().exists() or not _looks_like_hub_id(self.base) else "hub"

    @property
    def vouches_for(self) -> str:
        """What the fingerprint proves, in words a reader of the report can check."""
        where = "the local directory" if self.kind == "local" else f"the hub snapshot of {self.base}"
        return f"the bytes of the configuration, tokenizer and weight files in {where}" + (
            " and of the adapter's configuration and weights" if self.adapter else ""
        )

    @cached_property
    def base_dir(self) -> Path:
        """The local directory of the base model (a hub id resolves to its local snapshot)."""
        return _resolve_base(self.base, self.revision, self.allow_pickle)

    @property
    def adapter_dir(self) -> Path | None:
        if self.adapter is None:
            return None
        path = Path(self.adapter)
        if not path.is_dir():
            raise ModelError(f"adapter directory {self.adapter} does not exist")
        if not (path / "adapter_config.json").is_file():
            raise ModelError(f"{self.adapter}: not a PEFT adapter (no adapter_config.json)")
        return path

    @cached_property
    def config(self) -> dict[str, Any]:
        return _read_json(self.base_dir / "config.json")

    def check(self) -> None:
        """Every check that can be made without loading weights; raises ModelError.

        The configuration must be a JSON object and every safetensors file must have a
        header the safetensors library accepts, whose tensors fit in the file: a truncated
        download or a header that lies about its length fails here, not halfway through a
        load.
        """
        _ = self.config
        for path in _weight_files(self.base_dir, self.allow_pickle):
            if path.suffix == ".safetensors":
                check_safetensors(path)
            elif path.name.endswith(".index.json"):
                _check_shard_index(path)
        if self.adapter_dir is not None:
            adapter_weights = self.adapter_dir / "adapter_model.safetensors"
            if adapter_weights.is_file():
                check_safetensors(adapter_weights)
            self._check_adapter_matches_base()

    def check_device(self) -> None:
        """Refuse a device this machine's torch cannot use, before any weights are read."""
        import torch

        if self.device.startswith("cuda"):
            if not torch.cuda.is_available():
                raise ModelError(f"device {self.device!r}: torch finds no CUDA GPU on this machine (use --device cpu)")
            index = int(self.device.partition(":")[2] or 0)
            if index >= torch.cuda.device_count():
                raise ModelError(
                    f"device {self.device!r}: this machine has {torch.cuda.device_count()} CUDA GPU(s), numbered from 0"
                )
        elif self.device == "mps" and not torch.backends.mps.is_available():
            raise ModelError("device 'mps': torch finds no Apple GPU (MPS) on this machine (use --device cpu)")

    def _check_adapter_matches_base(self) -> None:
        adapter_dir = self.adapter_dir
        assert adapter_dir is not None
        adapter_cfg = _read_json(adapter_dir / "adapter_config.json")
        if adapter_cfg.get("peft_type", "LORA") != "LORA":
            return  # shape checks below are LoRA-specific
        weights = adapter_dir / "adapter_model.safetensors"
        if not weights.is_file():
            if (adapter_dir / "adapter_model.bin").is_file() and not self.allow_pickle:
                raise ModelError(
                    f"{adapter_dir}: adapter weights are a pickle (adapter_model.bin); "
                    "convert them to safetensors or pass --allow-pickle"
                )
            if not (adapter_dir / "adapter_model.bin").is_file():
                raise ModelError(f"{adapter_dir}: no adapter weights (adapter_model.safetensors)")
            return
        from safetensors import safe_open  # light: no torch needed for metadata

        hidden = self.config.get("hidden_size")
        layers = self.config.get("num_hidden_layers")
        widths = {hidden, self.config.get("intermediate_size"), self.config.get("n_embd")} - {None}
        with safe_open(str(weights), framework="numpy") as handle:
            for key in handle.keys():  # noqa: SIM118  (a safetensors handle, not a dict)
                match = _LORA_KEY.search(key)
                if not match:
                    continue
                layer = int(match.group(1))
                in_features = handle.get_slice(key).get_shape()[1]
                if layers is not None and layer >= layers:
                    raise ModelError(
                        f"adapter {adapter_dir} does not match base {self.base}: it adapts layer {layer}, "
                        f"the base has {layers} layers"
                    )
                if widths and in_features not in widths:
                    raise ModelError(
                        f"adapter {adapter_dir} does not match base {self.base}: {key} expects width "
                        f"{in_features}, the base has hidden size {hidden}"
                    )

    # ----------------------------------------------------------------- identity
    def fingerprint(self) -> str:
        """``sha256:`` over config, tokenizer, weight and adapter files, each streamed."""
        return self._fingerprint

    @cached_property
    def _fingerprint(self) -> str:
        parts = [(f"base/{p.name}", sha256_file(p)) for p in _identity_files(self.base_dir, self.allow_pickle)]
        if self.adapter_dir is not None:
            parts.append(("adapter/adapter_config.json", _canonical_adapter_config_digest(self.adapter_dir)))
            parts += [
                (f"adapter/{name}", sha256_file(self.adapter_dir / name))
                for name in ADAPTER_WEIGHT_FILES
                if (self.adapter_dir / name).is_file()
            ]
        return "sha256:" + combine_digests(parts)

    def describe(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "adapter": self.adapter,
            "revision": self.revision,
            "dtype": self.dtype,
            "fingerprint": self.fingerprint(),
            "kind": self.kind,
        }

    def cache_key(self) -> str:
        """What must match for stored model outputs to be reused: the files and the numeric type."""
        return f"{self.fingerprint()}:{self.dtype}"

    # ----------------------------------------------------------------- loading
    def load(self) -> LoadedModel:
        """Load the model and tokenizer with transformers and peft; the only place weights are read."""
        self.check()
        self.check_device()
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        quiet_transformers()

        dtype = "auto" if self.dtype == "auto" else getattr(torch, self.dtype)
        try:
            tokenizer = AutoTokenizer.from_pretrained(self.base_dir, trust_remote_code=self.trust_remote_code)
            model = AutoModelForCausalLM.from_pretrained(
                self.base_dir,
                dtype=dtype,
                use_safetensors=not self.allow_pickle or _has_safetensors(self.base_dir),
                trust_remote_code=self.trust_remote_code,
            )
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load model {self.base}: {_one_line(exc)}") from None
        loaded: PreTrainedModel | PeftModel = model
        if self.adapter_dir is not None:
            from peft import PeftModel

            try:
                loaded = PeftModel.from_pretrained(model, str(self.adapter_dir), is_trainable=False)
            except (RuntimeError, ValueError, OSError, KeyError) as exc:
                raise ModelError(f"adapter {self.adapter} does not fit base {self.base}: {_one_line(exc)}") from None
        try:
            loaded.to(torch.device(self.device))
        except (RuntimeError, AssertionError) as exc:
            raise ModelError(f"device {self.device!r} cannot hold the model: {_one_line(exc)}") from None
        loaded.eval()
        global _loads
        _loads += 1
        return LoadedModel(ref=self, model=loaded, tokenizer=tokenizer)


@dataclass
class LoadedModel:
    """A model in memory: the one object every engine that needs weights is handed."""

    ref: ModelRef
    model: PreTrainedModel | PeftModel
    tokenizer: PreTrainedTokenizerBase


_loads = 0


def loads_so_far() -> int:
    """How many times weights were loaded in this process (tests use it to pin "load once per run")."""
    return _loads


def _canonical_adapter_config_digest(adapter_dir: Path) -> str:
    """Digest of what the adapter config says, not how PEFT happened to write it.

    PEFT writes ``target_modules`` from a set (its order varies between saves) and
    records where the base model was at training time; neither changes the adapter.
    """
    config = _read_json(adapter_dir / "adapter_config.json")
    config.pop("base_model_name_or_path", None)
    if isinstance(config.get("target_modules"), list):
        config["target_modules"] = sorted(config["target_modules"])
    return sha256_text(json.dumps(config, sort_keys=True, separators=(",", ":")))


def quiet_transformers() -> None:
    """No weight-loading progress bars or library deprecation chatter on the user's terminal."""
    import warnings

    import transformers

    transformers.utils.logging.disable_progress_bar()
    transformers.logging.set_verbosity_error()
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)


def valid_device(device: str) -> bool:
    """Whether ``device`` names a torch device harness runs on: cpu, cuda, cuda:N or mps."""
    return DEVICE_PATTERN.fullmatch(device) is not None


def check_safetensors(path: Path) -> None:
    """Open ``path``'s header with the safetensors library; a corrupt or truncated file is a ModelError.

    ``safe_open`` reads only the header and checks that it is valid JSON of a sane size and
    that the tensors it lists exactly cover the rest of the file; no tensor is loaded.
    """
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="numpy") as handle:
            handle.keys()
    except SafetensorError as exc:
        raise ModelError(
            f"{path}: not a valid safetensors file ({_one_line(exc)}); it may be truncated or corrupt"
        ) from None
    except OSError as exc:
        raise ModelError(os_error_text(exc, path)) from None


def _check_shard_index(path: Path) -> None:
    """Every shard a ``model.safetensors.index.json`` names must be beside it."""
    index = _read_json(path)
    weight_map = index.get("weight_map")
    if not isinstance(weight_map, dict):
        raise ModelError(f"{path}: no 'weight_map' object")
    for shard in sorted({str(v) for v in weight_map.values()}):
        if not (path.parent / shard).is_file():
            raise ModelError(f"{path}: names the shard {shard}, which is not in {path.parent}")


def _looks_like_hub_id(base: str) -> bool:
    return re.fullmatch(r"[\w.-]+/[\w.-]+", base) is not None and not base.startswith(".")


def _resolve_base(base: str, revision: str | None, allow_pickle: bool) -> Path:
    path = Path(base).expanduser()
    if path.exists() or not _looks_like_hub_id(base):
        if path.exists() and not path.is_dir():
            raise ModelError(f"{base}: is a file; a model is a directory with config.json and weights")
        if not path.is_dir():
            raise ModelError(f"model directory {base} does not exist")
        if not (path / "config.json").is_file():
            raise ModelError(f"{base}: not a model directory (no config.json)")
        return path
    return _hub_snapshot(base, revision, allow_pickle)


def _hub_snapshot(repo_id: str, revision: str | None, allow_pickle: bool) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    patterns = ["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja"]
    if allow_pickle:
        patterns += ["*.bin", "*.pt"]
    try:
        return Path(snapshot_download(repo_id, revision=revision, allow_patterns=patterns))
    except LocalEntryNotFoundError:
        raise ModelError(
            f"model {repo_id} is neither a local directory nor in the local hub cache, and the hub cannot be reached"
        ) from None
    except HfHubHTTPError as exc:
        raise ModelError(f"model {repo_id}: hub error ({_one_line(exc)})") from None


def _has_safetensors(directory: Path) -> bool:
    return any(directory.glob("*.safetensors"))


def _weight_files(directory: Path, allow_pickle: bool) -> list[Path]:
    safe = sorted(p for g in SAFE_WEIGHT_GLOBS for p in directory.glob(g))
    if safe:
        return safe
    pickles = sorted(p for g in PICKLE_WEIGHT_GLOBS for p in directory.glob(g))
    if pickles and not allow_pickle:
        raise ModelError(
            f"{directory}: weights are pickle files only ({pickles[0].name}); pickles can run code when "
            "loaded, so convert them to safetensors or pass --allow-pickle"
        )
    if not pickles:
        raise ModelError(f"{directory}: no weight files (*.safetensors)")
    return pickles


def _identity_files(directory: Path, allow_pickle: bool) -> list[Path]:
    named = [directory / n for n in CONFIG_FILES + TOKENIZER_FILES if (directory / n).is_file()]
    return named + _weight_files(directory, allow_pickle)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path} does not exist") from None
    except OSError as exc:
        raise ModelError(os_error_text(exc, path)) from None
    except UnicodeDecodeError as exc:
        raise ModelError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise ModelError(f"{path}: JSON nested too deeply to read") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path}: expected a JSON object")
    return data


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] + ("..." if len(text) > 300 else "")
