"""A tiny, seeded Llama-architecture causal LM with its own BPE tokenizer.

It is the model of the demo and of the tests: a few MB, built in seconds on a CPU,
identical (bit for bit) for the same seed, and loadable by transformers, peft and
lm-eval like any model from the hub. Its answers are noise; its purpose is to drive
every real code path.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from harness.errors import InputError

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\\n' + message['content'] + '</s>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)

# The BOS variant's template starts with BOS, as the tokenizer's own encoding does: a chat
# prompt is tokenized without adding special tokens (by harness and by llama.cpp alike).
BOS_CHAT_TEMPLATE = "{{ bos_token }}" + CHAT_TEMPLATE

SPECIAL_TOKENS = ["<pad>", "<s>", "</s>", "<unk>", "<|system|>", "<|user|>", "<|assistant|>"]

# Training text for the tokenizer: the shapes of benchmark prompts (questions, lettered
# choices, numbers, arithmetic) and of emergency-response instructions.
_CORPUS = """\
The following are multiple choice questions (with answers) about general knowledge.
Question: What is the capital of France? A. Paris B. Rome C. Berlin D. Madrid Answer: A
Question: Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May.
How many clips did Natalia sell altogether in April and May? Answer: 48 / 2 = 24 clips in May. 48 + 24 = 72.
#### 72
Evacuate the residents of the village before the wildfire reaches the road.
Triage: treat the patient with the most urgent medical need first, whatever their group.
Hazardous materials: keep upwind, isolate the area, identify the substance, call the specialist team.
Search and rescue teams coordinate through the incident commander and report every hour.
The model must answer in JSON when asked: {"action": "evacuate", "priority": 1, "reason": "smoke"}.
0 1 2 3 4 5 6 7 8 9 10 11 12 100 1000 3.14 -5 + - * / = % $ , . ; : ? ! ( ) [ ] { } ' "
abstract algebra anatomy astronomy biology chemistry computer science economics engineering
mathematics medicine physics psychology statistics history geography law logic ethics philosophy
"""


def build_tiny_model(
    out_dir: str | Path,
    *,
    seed: int = 0,
    vocab_size: int = 512,
    hidden_size: int = 64,
    layers: int = 2,
    heads: int = 4,
    max_positions: int = 4096,
    add_bos: bool = False,
    corpus: Iterable[str] = (),
) -> Path:
    """Write config, safetensors weights, tokenizer and chat template to ``out_dir``.

    ``corpus``: more text for the tokenizer to learn its merges from, beside the built-in
    shapes of benchmark prompts. With the texts a model will be trained on and a larger
    ``vocab_size``, words of that domain become single tokens, so a short training can
    teach the model their shape (the demo does this to teach JSON answers). The weights
    stay random.

    ``add_bos``: the tokenizer prepends the BOS token ``<s>`` to every text it encodes (and
    the chat template starts with it), as Llama's own tokenizer does. llama.cpp's server
    needs such a tokenizer to report prompt log-probabilities correctly (see
    :mod:`harness.models.gguf`). Without it (the default) the files are exactly those of
    earlier releases, byte for byte.
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from harness.models.modelref import quiet_transformers

    quiet_transformers()
    out = _empty_dir(out_dir)

    bpe = Tokenizer(models.BPE(unk_token=None, byte_fallback=False))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(
        [*_CORPUS.splitlines(), *(line for text in corpus for line in text.splitlines())], trainer=trainer
    )
    if add_bos:
        bpe.post_processor = processors.Sequence(
            [
                processors.ByteLevel(trim_offsets=False),
                processors.TemplateProcessing(
                    single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", bpe.token_to_id("<s>"))]
                ),
            ]
        )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        model_max_length=max_positions,
    )
    tokenizer.chat_template = BOS_CHAT_TEMPLATE if add_bos else CHAT_TEMPLATE
    tokenizer.save_pretrained(out)

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=max(1, heads // 2),
        max_position_embeddings=max_positions,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
        initializer_range=0.2,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out, safe_serialization=True)
    return out


def build_tiny_adapter(
    base_dir: str | Path, out_dir: str | Path, *, seed: int = 1, rank: int = 4, scale: float = 0.5
) -> Path:
    """Write a LoRA adapter for ``base_dir`` whose B matrices are non-zero.

    PEFT initialises B to zero, which would leave the model unchanged; a seeded random B
    makes base and base+adapter give different log-likelihoods, as a trained adapter would.
    ``scale`` is the standard deviation of B; a large one damages the model on purpose.
    """
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from harness.models.modelref import quiet_transformers

    quiet_transformers()
    out = _empty_dir(out_dir)
    torch.manual_seed(seed)  # PEFT draws the A matrices from the global generator
    base = AutoModelForCausalLM.from_pretrained(base_dir, use_safetensors=True)
    lora = LoraConfig(
        r=rank,
        lora_alpha=2 * rank,
        lora_dropout=0.0,
        target_modules=["q_proj", "v_proj"],
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(base, lora)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=generator) * scale)
    model.save_pretrained(str(out), safe_serialization=True)
    return out


def _empty_dir(path: str | Path) -> Path:
    out = Path(path)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"{out} exists and is not an empty directory")
    out.mkdir(parents=True, exist_ok=True)
    return out
