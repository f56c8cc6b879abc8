"""Test helper: teach the tiny model the gold answers of items it was evaluated on.

The untrained tiny model answers at chance, so it cannot show a loss of ability. This
memorises the gold continuation of lm-eval's own requests (context, " A".." D") from a
finished run, giving a model that is right far above chance on exactly those items.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path


def gold_requests(run_dir: Path, suite: str = "mmlu") -> list[tuple[str, str]]:
    """(context, gold continuation) of every multiple-choice sample lm-eval logged for ``suite``."""
    pairs = []
    for path in sorted((run_dir / "lm_eval" / suite).glob("samples_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            sample = json.loads(line)
            context, continuation = sample["arguments"][int(sample["target"])][:2]
            pairs.append((context, continuation))
    return pairs


def teach(model_dir: Path, pairs: list[tuple[str, str]], out_dir: Path, *, steps: int = 120, seed: int = 0) -> Path:
    """Full fine-tune of the tiny model on the continuation token(s) of ``pairs``; saved as safetensors."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, use_safetensors=True)
    examples = []
    for context, continuation in pairs:  # lm-eval encodes context and continuation separately
        ctx = tokenizer(context, add_special_tokens=False)["input_ids"]
        cont = tokenizer(continuation, add_special_tokens=False)["input_ids"]
        ids = torch.tensor(ctx + cont)
        labels = torch.full_like(ids, -100)
        labels[len(ctx) :] = ids[len(ctx) :]
        examples.append((ids, labels))
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for step in range(steps):
        batch = [examples[(step * 16 + i) % len(examples)] for i in range(16)]
        width = max(len(ids) for ids, _ in batch)
        ids = torch.stack(
            [torch.nn.functional.pad(i, (0, width - len(i)), value=tokenizer.pad_token_id) for i, _ in batch]
        )
        labels = torch.stack([torch.nn.functional.pad(lab, (0, width - len(lab)), value=-100) for _, lab in batch])
        mask = (labels != -100) | (torch.arange(width)[None, :] < torch.tensor([len(i) for i, _ in batch])[:, None])
        loss = model(input_ids=ids, attention_mask=mask.long(), labels=labels).loss
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir, safe_serialization=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja"):
        if (model_dir / name).is_file():
            shutil.copy(model_dir / name, out_dir / name)
    return out_dir
