"""keep_freed_memory: freed large blocks are reused, not faulted in afresh every training step."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Allocate, touch and free a 256 MB torch tensor a few times, like one activation buffer over training steps
# (numpy would not do: it asks for transparent huge pages); print the minor page faults that took.
PROBE = """
import resource, sys
import torch
from training.trainer_utils import keep_freed_memory
applied = keep_freed_memory() if sys.argv[1] == "keep" else False
for step in range(6):
    if step == 2:  # after two warm-up steps
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    buf = torch.ones(64 * 1024 * 1024)
    del buf
print(applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def probe(mode: str) -> tuple[bool, int]:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True).stdout
    applied, faults = out.split()
    return applied == "True", int(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux-only")
def test_freed_blocks_are_reused_instead_of_faulted_in_again():
    applied, kept = probe("keep")
    _, default = probe("default")
    assert applied
    pages = 256 * 1024 * 1024 // 4096
    assert default >= 4 * pages  # glibc's default: every allocation is a fresh mmap, faulted in page by page
    assert kept < pages // 4  # kept: the steps reuse the warm-up's pages

