"""Gated LoRA training (a later issue builds it here)."""
