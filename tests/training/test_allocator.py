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
for step in range(12):
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
    assert default >= 10 * pages  # glibc's default: every allocation is a fresh mmap, faulted in page by page
    # kept: the steps reuse the warm-up's pages (now and then a small allocation splits the free block and the
    # heap grows once more)
    assert kept < default // 3



RELEASE_PROBE = """
import torch
from training.trainer_utils import keep_freed_memory, release_freed_memory

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 // 2**20

keep_freed_memory()
buf = torch.ones(64 * 1024 * 1024)
del buf
kept = rss_mb()
release_freed_memory()
print(kept, rss_mb())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim is Linux-only")
def test_release_gives_kept_memory_back_between_stages():
    out = subprocess.run([sys.executable, "-c", RELEASE_PROBE], capture_output=True, text=True, check=True).stdout
    kept, released = map(int, out.split())
    assert kept - released >= 200  # the freed 256 MB tensor was held, and is returned
