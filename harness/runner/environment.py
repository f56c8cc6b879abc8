"""What a run ran on: Python, packages, hardware, the harness's own commit."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from harness.schema.results import Environment

PACKAGES = ("harness", "torch", "transformers", "peft", "lm-eval", "datasets", "tokenizers", "safetensors", "numpy")


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def hardware_description(device: str) -> str:
    cpu = platform.processor() or platform.machine()
    text = f"{cpu}, {os.cpu_count()} CPUs"
    if device.startswith("cuda"):
        import torch

        text += f", {torch.cuda.get_device_name(0)}"
    return text


def harness_git_commit() -> str | None:
    """The commit of the harness source tree, when it runs from a git checkout."""
    source = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and len(commit) == 40 else None


def capture_environment(device: str, seed: int) -> Environment:
    return Environment(
        python=sys.version.split()[0],
        platform=platform.platform(),
        packages=package_versions(),
        seed=seed,
        device=device,
        hardware=hardware_description(device),
        git_commit=harness_git_commit(),
    )
