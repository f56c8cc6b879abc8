"""harness: an evaluation and compliance gate for fine-tuned language models.

The package is light on import: torch, lm-eval, transformers and WeasyPrint are
imported only inside the functions that need them, so ``harness --help`` is instant.
"""

__version__ = "0.1.0"
