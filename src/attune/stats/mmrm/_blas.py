"""Run the MMRM engine with a single BLAS thread.

Why: the engine's matrix products are small to medium (tens to a few hundred rows), where a second
BLAS thread gains nothing, but on a shared machine OpenBLAS's worker threads busy-wait for a core and
a fit can become 5-30 times slower (measured: bcva_data 0.13 s single-threaded vs 0.3-3.6 s with two
threads while another process was running). ``threadpoolctl`` (the library scikit-learn uses for
this) limits the BLAS libraries NumPy and SciPy loaded for the duration of a fit and restores them
afterwards. The limit is process-wide while a fit runs.

The controller is kept while no module has been imported since it was built: building it scans
every shared library the process has loaded, about 10 ms with pandas, Arrow and Dask loaded, which
was a sixth of a simulated MAPP-sized trial (``attune power --method simulation`` fits thousands).
A new import may have loaded another BLAS (SciPy's), so it builds the controller again.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _controller(modules_loaded: int) -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    import threadpoolctl  # noqa: F401  (imported before counting the modules)

    with _controller(len(sys.modules)).limit(limits=1, user_api="blas"):
        yield
