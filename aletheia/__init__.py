"""Aletheia's shared core: the task formats that the LSP, training and evaluation all use."""
