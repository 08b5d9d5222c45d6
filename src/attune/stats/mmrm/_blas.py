"""Run the MMRM engine with a single BLAS thread.

Why: the engine's matrix products are small to medium (tens to a few hundred rows), where a second
BLAS thread gains nothing, but on a shared machine OpenBLAS's worker threads busy-wait for a core and
a fit can become 5-30 times slower (measured: bcva_data 0.13 s single-threaded vs 0.3-3.6 s with two
threads while another process was running). ``threadpoolctl`` (the library scikit-learn uses for
this) limits the BLAS libraries NumPy and SciPy loaded for the duration of a fit and restores them
afterwards. The limit is process-wide while a fit runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield
