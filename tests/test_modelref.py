import json
import shutil
from pathlib import Path

import pytest

from harness.errors import ModelError
from harness.models.modelref import ModelRef
from harness.models.tiny import build_tiny_adapter, build_tiny_model


def test_fingerprint_is_stable_and_location_independent(tiny_model: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(tiny_model, copy)
    first = ModelRef(str(tiny_model)).fingerprint()
    assert first.startswith("sha256:") and len(first) == 71
    assert ModelRef(str(copy)).fingerprint() == first


def test_fingerprint_changes_with_weights_and_adapter(tiny_model: Path, tiny_adapter: Path, tmp_path: Path) -> None:
    base = ModelRef(str(tiny_model)).fingerprint()
    assert ModelRef(str(tiny_model), adapter=str(tiny_adapter)).fingerprint() != base
    other = build_tiny_model(tmp_path / "other", seed=7)
    assert ModelRef(str(other)).fingerprint() != base


def test_tiny_model_is_reproducible_for_a_seed(tiny_model: Path, tmp_path: Path) -> None:
    again = build_tiny_model(tmp_path / "again", seed=0)
    assert ModelRef(str(again)).fingerprint() == ModelRef(str(tiny_model)).fingerprint()


def test_adapter_fingerprint_is_reproducible(tiny_model: Path, tiny_adapter: Path, tmp_path: Path) -> None:
    """PEFT writes target_modules in set order and the base's path; neither may move the fingerprint."""
    base_copy = tmp_path / "base"
    shutil.copytree(tiny_model, base_copy)
    again = build_tiny_adapter(base_copy, tmp_path / "lora", seed=1)
    assert (
        ModelRef(str(base_copy), adapter=str(again)).fingerprint()
        == ModelRef(str(tiny_model), adapter=str(tiny_adapter)).fingerprint()
    )
    different = build_tiny_adapter(tiny_model, tmp_path / "lora-2", seed=2)
    assert (
        ModelRef(str(tiny_model), adapter=str(different)).fingerprint()
        != ModelRef(str(tiny_model), adapter=str(tiny_adapter)).fingerprint()
    )


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        ModelRef(str(tmp_path / "nowhere")).check()


def test_directory_without_config_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="no config.json"):
        ModelRef(str(tmp_path / "empty")).check()


def test_pickle_only_weights_need_explicit_consent(tiny_model: Path, tmp_path: Path) -> None:
    pickled = tmp_path / "pickled"
    shutil.copytree(tiny_model, pickled)
    (pickled / "model.safetensors").rename(pickled / "pytorch_model.bin")
    with pytest.raises(ModelError, match="pickle"):
        ModelRef(str(pickled)).check()
    ModelRef(str(pickled), allow_pickle=True).check()


def test_adapter_for_another_base_is_rejected(tiny_adapter: Path, tmp_path: Path) -> None:
    wider = build_tiny_model(tmp_path / "wider", hidden_size=96, heads=4)
    with pytest.raises(ModelError, match="does not match base"):
        ModelRef(str(wider), adapter=str(tiny_adapter)).check()


def test_directory_that_is_not_an_adapter_is_rejected(tiny_model: Path) -> None:
    with pytest.raises(ModelError, match="not a PEFT adapter"):
        ModelRef(str(tiny_model), adapter=str(tiny_model)).check()


def test_adapter_changes_the_models_outputs(tiny_model: Path, tiny_adapter: Path) -> None:
    import torch

    loaded = ModelRef(str(tiny_model)).load()
    base, tokenizer = loaded.model, loaded.tokenizer
    tuned = ModelRef(str(tiny_model), adapter=str(tiny_adapter)).load().model
    ids = tokenizer("Evacuate the village now.", return_tensors="pt").input_ids
    with torch.no_grad():
        assert not torch.allclose(base(ids).logits, tuned(ids).logits)


def test_tiny_model_ships_a_chat_template(tiny_model: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hi"}], tokenize=False, add_generation_prompt=True
    )
    assert "<|user|>" in text and text.endswith("<|assistant|>\n")
    assert json.loads((tiny_model / "config.json").read_text())["model_type"] == "llama"
