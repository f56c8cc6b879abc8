"""LoRA fine-tuning with transformers' Trainer and peft: schedule, early stopping, checkpoints, resume.

transformers does the training loop, evaluation, checkpointing and resuming; peft the
adapter. The harness adds the schedule of :mod:`harness.training.schedule`, a progress
bar with the loss, and a Ctrl-C that saves a checkpoint before stopping.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HarnessError, InputError
from harness.models.modelref import ModelRef
from harness.training.config import TrainConfig
from harness.training.data import Example, tokenize
from harness.training.schedule import cosine_with_floor, warmup_steps_for

CHECKPOINTS = "checkpoints"
ADAPTER = "adapter"
# Energy estimate (Annex XI 1(2)(e)): average power draw x wall time. Without a measured power limit a
# CPU core is assumed to draw this much under training load (server CPUs: roughly 5-15 W per core at TDP).
ASSUMED_CPU_WATTS_PER_CORE = 10.0
ASSUMED_GPU_WATTS = 300.0  # when nvidia-smi cannot report the board power limit


@dataclass
class TrainingOutcome:
    adapter_dir: Path | None
    global_step: int
    max_steps: int
    stopped_early: bool
    interrupted: bool
    curves: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    hardware: dict[str, Any] = field(default_factory=dict)
    train_tokens: int = 0  # tokens in one pass over the training examples
    epochs_done: float = 0.0

    @property
    def tokens_processed(self) -> int:
        """Tokens the optimiser saw: one pass over the training set times the epochs done."""
        return round(self.train_tokens * self.epochs_done)

    @property
    def eval_losses(self) -> list[float]:
        return [c["eval_loss"] for c in self.curves if "eval_loss" in c]


def _callbacks() -> tuple[type, type]:
    from tqdm.auto import tqdm
    from transformers import TrainerCallback

    class LossBar(TrainerCallback):
        """One progress bar over the optimiser steps, showing the latest loss and eval loss."""

        def __init__(self, enabled: bool) -> None:
            self.enabled = enabled
            self.bar: tqdm | None = None
            self.postfix: dict[str, str] = {}

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if self.enabled:
                self.bar = tqdm(total=state.max_steps, initial=state.global_step, desc="training", unit="step")

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if self.bar is not None:
                self.bar.update(state.global_step - self.bar.n)

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
            if self.bar is not None and logs:
                for key in ("loss", "eval_loss"):
                    if key in logs:
                        self.postfix[key] = f"{logs[key]:.3f}"
                self.bar.set_postfix(self.postfix, refresh=False)

        def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if self.bar is not None:
                self.bar.close()

    class SaveAndStop(TrainerCallback):
        """On Ctrl-C (or ``request()``), save a checkpoint at the end of the current step and stop."""

        def __init__(self) -> None:
            self.requested = False

        def request(self, *_: Any) -> None:
            self.requested = True

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            if self.requested:
                control.should_save = True
                control.should_training_stop = True
            return control

    return LossBar, SaveAndStop


def train_adapter(
    config: TrainConfig,
    train: list[Example],
    evaluation: list[Example],
    work_dir: Path,
    *,
    resume: bool = False,
    progress: bool = True,
    extra_callbacks: list[Any] | None = None,
    identity: str | None = None,
) -> TrainingOutcome:
    """Train a LoRA adapter on ``train``; eval loss on ``evaluation``; checkpoints under ``work_dir``."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import DataCollatorForSeq2Seq, EarlyStoppingCallback, Trainer, TrainingArguments

    if not train or not evaluation:
        raise InputError("training needs examples to train on and to evaluate on (the mix came out empty)")
    checkpoints = work_dir / CHECKPOINTS
    has_checkpoint = checkpoints.is_dir() and any(checkpoints.glob("checkpoint-*"))
    if resume and not has_checkpoint:
        raise InputError(f"{checkpoints}: no checkpoint to resume from")
    if has_checkpoint and not resume:
        raise InputError(
            f"{checkpoints} holds checkpoints of an earlier run: pass --resume, or use a new output directory"
        )
    if resume and (work_dir / ADAPTER / "adapter_config.json").is_file():
        raise InputError(
            f"{work_dir}: this training finished already (adapter saved); use a new output directory to retrain"
        )
    marker = checkpoints / "training-identity.txt"
    if identity is not None:
        if resume and marker.is_file() and marker.read_text(encoding="utf-8").strip() != identity:
            raise InputError(
                f"{checkpoints}: the config or the training data changed since these checkpoints; "
                "start again in a new output directory"
            )
        checkpoints.mkdir(parents=True, exist_ok=True)
        marker.write_text(identity + "\n", encoding="utf-8")

    torch.manual_seed(config.seed)
    loaded = ModelRef(config.base_model).load()
    model, tokenizer = loaded.model, loaded.tokenizer
    lora = LoraConfig(
        r=config.lora.rank,
        lora_alpha=config.lora.alpha,
        lora_dropout=config.lora.dropout,
        target_modules=config.lora.target_modules,
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, lora)
    train_rows = [tokenize(e, tokenizer, config.max_length) for e in train]
    eval_rows = [tokenize(e, tokenizer, config.max_length) for e in evaluation]
    LossBar, SaveAndStop = _callbacks()

    class ScheduledTrainer(Trainer):
        def create_scheduler(self, num_training_steps: int, optimizer: Any = None) -> Any:
            warmup = warmup_steps_for(num_training_steps, config.schedule.warmup_ratio, config.schedule.warmup_steps)
            multiplier = cosine_with_floor(
                num_training_steps,
                warmup,
                peak_lr=config.learning_rate,
                min_lr=config.schedule.min_lr,
                cycles=config.schedule.cycles,
            )
            target = optimizer if optimizer is not None else self.optimizer
            assert target is not None, "the Trainer creates its optimizer before its scheduler"
            self.lr_scheduler = torch.optim.lr_scheduler.LambdaLR(target, multiplier)
            return self.lr_scheduler

    args = TrainingArguments(
        output_dir=str(checkpoints),
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.gradient_accumulation,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        eval_strategy="steps",
        eval_steps=config.eval_every,
        save_strategy="steps",
        save_steps=config.eval_every,
        save_total_limit=3,
        load_best_model_at_end=True,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        logging_steps=1,
        report_to=[],
        seed=config.seed,
        data_seed=config.seed,
        disable_tqdm=True,
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0,
        remove_unused_columns=False,
    )
    stopper = SaveAndStop()
    trainer = ScheduledTrainer(
        model=model,
        args=args,
        train_dataset=train_rows,
        eval_dataset=eval_rows,
        data_collator=DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100),
        callbacks=[
            EarlyStoppingCallback(config.early_stopping.patience, config.early_stopping.threshold),
            LossBar(progress),
            stopper,
            *(extra_callbacks or []),
        ],
    )
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # the loss bar shows the logs; no dict per step on stdout
    for callback in extra_callbacks or []:
        if hasattr(callback, "bind"):
            callback.bind(stopper)
    previous = signal.signal(signal.SIGINT, stopper.request) if _main_thread() else None
    started = time.perf_counter()
    try:
        trainer.train(resume_from_checkpoint=True if resume else None)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    state = trainer.state
    curves = [
        {k: float(v) for k, v in entry.items() if k in ("step", "loss", "eval_loss", "learning_rate", "epoch")}
        for entry in state.log_history
        if "loss" in entry or "eval_loss" in entry
    ]
    outcome = TrainingOutcome(
        adapter_dir=None,
        global_step=state.global_step,
        max_steps=state.max_steps,
        stopped_early=not stopper.requested and state.global_step < state.max_steps,
        interrupted=stopper.requested,
        curves=curves,
        seconds=round(time.perf_counter() - started, 2),
        hardware=training_hardware(str(args.device)),
        train_tokens=sum(len(row["input_ids"]) for row in train_rows),
        epochs_done=float(state.epoch or 0.0),
    )
    if stopper.requested:
        return outcome
    adapter_dir = work_dir / ADAPTER
    model.save_pretrained(str(adapter_dir), safe_serialization=True)  # the best checkpoint, reloaded in place
    if not (adapter_dir / "adapter_config.json").is_file():
        raise HarnessError(f"{adapter_dir}: peft wrote no adapter")
    outcome.adapter_dir = adapter_dir
    return outcome


def training_hardware(device: str) -> dict[str, Any]:
    """What trained the adapter: the device, its name, CPU threads, and the power figure the energy estimate uses."""
    import os
    import platform

    import torch

    threads = torch.get_num_threads()
    cpu = _cpu_name() or platform.processor() or platform.machine()
    out: dict[str, Any] = {"device": device, "cpu": cpu, "cpu_threads": threads, "cpu_count": os.cpu_count()}
    if device.startswith("cuda") and torch.cuda.is_available():
        index = torch.device(device).index or 0
        name = torch.cuda.get_device_name(index)
        limit = _gpu_power_limit(index)
        out |= {"gpu": name, "gpus": 1}
        out["power_w"] = limit if limit is not None else ASSUMED_GPU_WATTS
        out["power_source"] = (
            "the GPU's board power limit reported by nvidia-smi"
            if limit is not None
            else f"an assumed {ASSUMED_GPU_WATTS:g} W for the GPU (nvidia-smi gave no power limit)"
        )
        out["description"] = f"1 x {name} (CUDA), host CPU {cpu}"
    else:
        out["power_w"] = ASSUMED_CPU_WATTS_PER_CORE * threads
        out["power_source"] = f"an assumed {ASSUMED_CPU_WATTS_PER_CORE:g} W per CPU thread used x {threads} threads"
        out["description"] = f"CPU {cpu}, {threads} threads used of {os.cpu_count()}"
    return out


def energy_estimate(hardware: dict[str, Any], seconds: float) -> dict[str, Any]:
    """Energy as average power x wall time, in kWh; an estimate, and it says so and on what power figure."""
    watts = hardware.get("power_w")
    if not isinstance(watts, (int, float)):
        return {"kwh": None, "method": "not estimated: no power figure recorded", "estimate": True}
    return {
        "kwh": float(watts) * seconds / 3.6e6,
        "watts": float(watts),
        "seconds": seconds,
        "method": f"estimate: {watts:g} W ({hardware.get('power_source', 'assumed')}) x {seconds:.0f} s wall time; "
        "not a measurement (no meter read), excludes cooling and the rest of the machine",
        "estimate": True,
    }


def _cpu_name() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def _gpu_power_limit(index: int) -> float | None:
    import shutil
    import subprocess

    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        out = subprocess.run(
            [smi, f"--id={index}", "--query-gpu=power.limit", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        return float(out.splitlines()[0])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()
