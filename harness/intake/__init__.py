"""Base-model intake and selection: what a model must have before anyone fine-tunes it, and which one to take.

- :mod:`~harness.intake.scorecard`: ``harness intake``, a scorecard read from a model's files
  (config, tokenizer, safetensors headers, model card, licence) without loading its weights,
  plus the benchmark minimums from stored runs;
- :mod:`~harness.intake.selection`: ``harness select``, a decision matrix over candidates with
  paired comparisons on shared items, and the decision;
- :mod:`~harness.intake.render`: the scorecard and the decision record as Markdown, HTML and
  PDF/A-3b; :mod:`~harness.intake.record`: their versioned JSON (``intake.json``,
  ``selection.json``); :mod:`~harness.intake.policy`: the intake and selection policies.
"""
