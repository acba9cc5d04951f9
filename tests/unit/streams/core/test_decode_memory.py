"""What decoding really holds: a burst of hostile JPEGs stays within the decode memory budget,
measured by the kernel in a process of its own."""

from __future__ import annotations

import json

from tests.support.fresh_python import fresh_python_output

MIB = 1024 * 1024
BUDGET = 256 * MIB

# Four progressive CMYK JPEGs of 25 MP (about 400 KB each) hashed on four threads at once, as a
# worker with CREDLINK_PROVE_CONCURRENCY=4 would: each decode holds about 200 MB of DCT
# coefficients, so two at once would already exceed the budget.
BURST = f"""
import json, os, threading
from streams.core.imaging import inspect_image
from streams.core.memory_budget import MemoryBudget
from streams.devtools.benchmarking.processes import peak_rss_bytes, rss_bytes
from tests.support.images import progressive_jpeg

pictures = [progressive_jpeg(5000, 5000, "CMYK") for _ in range(4)]
with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")  # the peak (VmHWM) starts again from now
baseline = rss_bytes(os.getpid())
budget = MemoryBudget({BUDGET})
threads = [
    threading.Thread(
        target=inspect_image,
        args=(data,),
        kwargs={{"max_bytes": 30_000_000, "max_pixels": 50_000_000, "reserve": budget.reserve}},
    )
    for data in pictures
]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps({{"baseline": baseline, "peak": peak_rss_bytes(os.getpid())}}))
"""


def test_a_burst_of_progressive_jpegs_holds_no_more_than_the_decode_budget() -> None:
    memory = json.loads(fresh_python_output(BURST, timeout=240))

    added = memory["peak"] - memory["baseline"]
    assert added < BUDGET, f"the burst added {added / MIB:.0f} MiB over its baseline"
