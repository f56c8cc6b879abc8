"""A real OpenAI-compatible server for the endpoint tests: llama-cpp-python's, on a tiny model converted to GGUF.

``python -m llama_cpp.server`` serves the GGUF on a free local port with an f32 KV cache
(``--type_k 0 --type_v 0``: the default f16 cache moves log-probabilities by about 3e-3)
and every position's logits (prompt log-probabilities need them). It is ready about a
second after launch; :func:`start_server` waits for ``GET /v1/models`` and
:meth:`LlamaServer.stop` ends the process it started (and only that one).
"""

from __future__ import annotations

import csv
import importlib.util
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

LLAMA_CPP_MISSING = importlib.util.find_spec("llama_cpp") is None
SKIP_REASON = (
    "llama-cpp-python is not installed: the endpoint tests need its OpenAI-compatible server "
    "(bash scripts/install_llama_server installs it)"
)
SERVED_NAME = "tiny"


@dataclass
class LlamaServer:
    """One running server: its API base URL, the files it serves, and its process."""

    url: str
    gguf: Path
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def requests_seen(self, path: str) -> int:
        """How many requests to ``path`` (e.g. ``/v1/completions``) the server has logged."""
        return self.log.read_text(encoding="utf-8", errors="replace").count(f'"POST {path} ')


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(gguf: Path, log: Path, *, n_ctx: int = 4096, wait_s: float = 60.0) -> LlamaServer:
    """Serve ``gguf`` as :data:`SERVED_NAME` on a free port; returns once ``/v1/models`` answers."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf),
        "--model_alias",
        SERVED_NAME,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(n_ctx),
        "--type_k",
        "0",
        "--type_v",
        "0",
        "--logits_all",
        "True",
        "--verbose",
        "False",
    ]
    handle = open(log, "wb")  # noqa: SIM115  (the server writes to it until it stops)
    process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
    handle.close()
    server = LlamaServer(url=f"http://127.0.0.1:{port}/v1", gguf=gguf, process=process, log=log)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(server.url + "/models", timeout=2):
                return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    server.stop()
    tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
    raise RuntimeError(f"llama_cpp.server did not start on port {port}:\n{tail}")


def short_mmlu(source: Path, out: Path, rows: int = 2) -> Path:
    """A data directory whose MMLU test files hold each subject's ``rows`` shortest questions (dev files copied).

    Real MMLU items, so the stock prompts apply; short ones, because llama.cpp's server
    computes echoed log-probabilities in Python at about a millisecond per prompt token.
    """
    for split in ("test", "dev"):
        (out / "mmlu" / split).mkdir(parents=True, exist_ok=True)
    for path in sorted((source / "mmlu" / "test").glob("*_test.csv")):
        with open(path, newline="", encoding="utf-8") as handle:
            table = list(csv.reader(handle))
        shortest = sorted(range(len(table)), key=lambda i: (sum(len(c) for c in table[i]), i))[:rows]
        with open(out / "mmlu" / "test" / path.name, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(table[i] for i in sorted(shortest))
        dev = source / "mmlu" / "dev" / path.name.replace("_test.csv", "_dev.csv")
        (out / "mmlu" / "dev" / dev.name).write_bytes(dev.read_bytes())
    return out


class BosEchoingServer:
    """A stand-in for vLLM's OpenAI-compatible server, on a Hugging Face model in this process.

    It behaves as vLLM does where harness depends on it: ``/tokenize`` at the root, prompts
    as text (tokenized with BOS) or as token ids (taken as they are), and an echo that
    keeps the BOS token as the first entry (its log-probability None). Log-probabilities
    come from the model itself (float64 log-softmax of its logits).
    """

    def __init__(self, model_dir: Path) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from harness.models.modelref import ModelRef

        self.loaded = ModelRef(str(model_dir)).load()
        self.lock = threading.Lock()
        self.completions = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def reply(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/v1/models":
                    self.reply(200, {"data": [{"id": SERVED_NAME, "owned_by": "vllm", "max_model_len": 4096}]})
                else:
                    self.reply(404, {"detail": "Not Found"})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path == "/tokenize":
                    self.reply(200, {"tokens": outer.encode(body["prompt"]), "max_model_len": 4096})
                elif self.path == "/v1/completions":
                    outer.completions += 1
                    self.reply(200, outer.complete(body))
                else:
                    self.reply(404, {"detail": "Not Found"})

        self.http = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/v1"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def encode(self, text: str) -> list[int]:
        return list(self.loaded.tokenizer(text)["input_ids"])

    def complete(self, body: dict) -> dict:
        import torch

        prompt = body["prompt"]
        ids = (
            self.encode(prompt)
            if isinstance(prompt, str)
            else list(prompt[0] if isinstance(prompt[0], list) else prompt)
        )
        with self.lock, torch.no_grad():
            logits = self.loaded.model(torch.tensor([ids])).logits[0].double()
        logprobs = torch.log_softmax(logits, dim=-1)
        last = logprobs[-1].clone()
        for token, bias in (body.get("logit_bias") or {}).items():
            last[int(token)] += float(bias)
        generated = int(last.argmax())
        every = ids + [generated]
        values = [None] + [float(logprobs[i - 1, every[i]]) for i in range(1, len(every))]
        pieces = [self.loaded.tokenizer.decode([t]) for t in every]
        tops = [None] + [{pieces[i]: values[i]} for i in range(1, len(every))]
        offsets = [sum(len(p) for p in pieces[:i]) for i in range(len(every))]
        return {
            "choices": [
                {
                    "index": 0,
                    "text": (prompt if isinstance(prompt, str) else "".join(pieces[:-1])) + pieces[-1],
                    "logprobs": {
                        "tokens": pieces,
                        "token_logprobs": values,
                        "top_logprobs": tops,
                        "text_offset": offsets,
                    },
                    "finish_reason": "length",
                }
            ],
            "usage": {"prompt_tokens": len(ids), "completion_tokens": 1, "total_tokens": len(every)},
        }

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()
