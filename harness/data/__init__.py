"""Data provenance and quality (EU AI Act Art. 10): registered dataset versions, Great
Expectations checks, inter-rater agreement and the conflict-resolution protocol."""
