"""Training: data gates, LoRA SFT and DPO, merge, GGUF export, registry, tracking. Entry: python -m training.run."""
