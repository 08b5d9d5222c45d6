"""Where simulated trials run: in this process, in a local process pool, or on a Dask cluster.

Simulations hand the runner independent tasks (a function and its arguments, each a chunk of
trials) and read the results as they finish, in any order. The three runners share one small
interface so that a simulation never knows which one it is on, and so gets the same numbers on each:
every trial draws only from its own seed, never from shared state.

* ``open_runner(None, workers=1)``: this process (no pool at all);
* ``open_runner(None, workers=N)``: a :class:`~concurrent.futures.ProcessPoolExecutor`;
* ``open_runner("local", workers=N)``: a Dask ``LocalCluster`` with N single-threaded workers;
* ``open_runner("tcp://host:8786")``: the workers of an existing Dask scheduler (they need Attune
  installed, as for any Dask task that calls a library).

At most a few tasks per worker are in flight (``window``), so a grid of a million trials never has
a million futures, nor their results, waiting in memory.

Dask is imported only when asked for: the process pool and the CLI's ``--help`` do not pay for it.
"""

from __future__ import annotations

import multiprocessing
import os
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import AbstractContextManager, ExitStack
from types import TracebackType
from typing import Any

from attune.stats._tables import StatsInputError

#: tasks in flight per worker: enough to keep each busy while results travel back
TASKS_PER_WORKER = 4
_ADDRESS = re.compile(r"^tcp://[^\s/]+:\d+/?$")


class Runner(AbstractContextManager["Runner"]):
    """Runs ``fn(*args)`` for each task; :meth:`run` yields ``(tag, result)`` as tasks finish."""

    #: how many tasks can run at once (worker processes or Dask worker threads)
    workers: int = 1
    #: what runs the tasks, for reports ("this process", "process pool", "dask local", ...)
    name: str = "this process"

    def run(
        self, fn: Callable[..., Any], tasks: Iterable[tuple[Any, tuple[Any, ...]]]
    ) -> Iterator[tuple[Any, Any]]:
        for tag, args in tasks:
            yield tag, fn(*args)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers this runner started (none for this process)."""


class _WindowedRunner(Runner):
    """Submits tasks with at most ``TASKS_PER_WORKER * workers`` in flight (a sliding window)."""

    def _submit(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        raise NotImplementedError

    def _wait_first(self, pending: set[Any]) -> tuple[set[Any], set[Any]]:
        raise NotImplementedError

    def run(
        self, fn: Callable[..., Any], tasks: Iterable[tuple[Any, tuple[Any, ...]]]
    ) -> Iterator[tuple[Any, Any]]:
        window = TASKS_PER_WORKER * self.workers
        queue = iter(tasks)
        tags: dict[Any, Any] = {}
        exhausted = False
        while True:
            while not exhausted and len(tags) < window:
                try:
                    tag, args = next(queue)
                except StopIteration:
                    exhausted = True
                    break
                tags[self._submit(fn, args)] = tag
            if not tags:
                return
            done, _ = self._wait_first(set(tags))
            for future in done:
                yield tags.pop(future), future.result()


class ProcessPoolRunner(_WindowedRunner):
    """Today's worker processes (``concurrent.futures``), for one machine without Dask."""

    name = "process pool"

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool = ProcessPoolExecutor(max_workers=workers)

    def _submit(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Future[Any]:
        return self._pool.submit(fn, *args)

    def _wait_first(self, pending: set[Any]) -> tuple[set[Any], set[Any]]:
        done, rest = wait(pending, return_when=FIRST_COMPLETED)
        return set(done), set(rest)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskRunner(_WindowedRunner):
    """A Dask ``distributed`` client: a ``LocalCluster`` it starts, or an existing scheduler.

    ``processes=True`` (the default) gives each local worker its own process, as the MMRM fit is
    Python and NumPy code that holds the GIL; ``processes=False`` runs the workers as threads of this
    process, which starts in a fraction of a second (tests). Local worker processes are forked where
    the platform can, like today's process pool: a spawned worker starts a new interpreter and
    imports NumPy, pandas and Dask again, 7-20 s for two workers on the project's loaded 2-core
    machine against 0.3 s forked (``bench/results/simulate.md``). Neither starts the dashboard, and all
    listens only on 127.0.0.1.
    """

    def __init__(
        self,
        scheduler: str,
        workers: int | None = None,
        *,
        processes: bool = True,
        timeout: float = 10.0,
    ) -> None:
        import dask
        from distributed import Client, LocalCluster

        self._stack = ExitStack()
        try:
            if scheduler == "local":
                self._stack.enter_context(dask.config.set(_local_cluster_config(processes)))
                cluster = self._stack.enter_context(
                    LocalCluster(  # type: ignore[no-untyped-call]  # distributed has no hints here
                        n_workers=workers or os.cpu_count() or 1,
                        threads_per_worker=1,
                        processes=processes,
                        # tcp on loopback, threads too (inproc:// workers would serve their
                        # HTTP on every interface)
                        protocol="tcp",
                        host="127.0.0.1",
                        # No dashboard; the scheduler's own HTTP server (health, metrics) listens
                        # on loopback at a free port, never on :8787 of every interface.
                        dashboard_address=None,
                        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                    )
                )
                self._client = self._stack.enter_context(Client(cluster))  # type: ignore[no-untyped-call]
                self.name = f"dask LocalCluster ({'processes' if processes else 'threads'})"
            else:
                client = Client(scheduler, timeout=f"{timeout}s")  # type: ignore[no-untyped-call]
                self._client = self._stack.enter_context(client)
                self.name = f"dask scheduler {scheduler}"
        except OSError as error:  # TimeoutError included: no scheduler answered
            self._stack.close()
            raise StatsInputError(
                f"cannot reach the Dask scheduler at {scheduler}: {error}"
            ) from None
        except BaseException:
            self._stack.close()
            raise
        self.workers = max(1, sum(self._client.nthreads().values()))

    @property
    def address(self) -> str:
        """The scheduler's address (``tcp://127.0.0.1:PORT`` for a LocalCluster)."""
        return str(self._client.scheduler.address)

    def _submit(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        # pure=False: two chunks with equal arguments are still two tasks (no key hashing of designs)
        return self._client.submit(fn, *args, pure=False)

    def _wait_first(self, pending: set[Any]) -> tuple[set[Any], set[Any]]:
        from distributed import wait as dask_wait

        done, rest = dask_wait(list(pending), return_when="FIRST_COMPLETED")  # type: ignore[no-untyped-call]
        return set(done), set(rest)

    def close(self) -> None:
        self._stack.close()


#: Housekeeping of our own LocalCluster, slowed down: the defaults serve the dashboard (which we do
#: not start) and wake every server's event loop 10-100 times a second. Measured on this 2-core
#: machine: the main process of an idle 2-worker cluster burned 61 ms of CPU per second with the
#: defaults, 11 ms with these; on a machine shared with other work that time is taken from the trials.
QUIET_LOCAL_CLUSTER = {
    "distributed.admin.tick.interval": "1s",  # blocked-event-loop detection, default 20 ms
    "distributed.admin.system-monitor.interval": "2s",  # dashboard statistics, default 500 ms
    "distributed.worker.memory.monitor-interval": "1s",  # default 100 ms
    "distributed.worker.profile.enabled": False,  # the dashboard's statistical profiler, 10 ms
}


def _local_cluster_config(processes: bool) -> dict[str, object]:
    config: dict[str, object] = dict(QUIET_LOCAL_CLUSTER)
    if processes and "fork" in multiprocessing.get_all_start_methods():
        config["distributed.worker.multiprocessing-method"] = "fork"
    return config


def check_scheduler(scheduler: str | None) -> None:
    """Refuse a ``--scheduler`` that is neither ``local`` nor a ``tcp://host:port`` address."""
    if scheduler is None or scheduler == "local" or _ADDRESS.match(scheduler):
        return
    raise StatsInputError(
        f"scheduler must be 'local' or an address like tcp://host:8786, not {scheduler!r}"
    )


def open_runner(
    scheduler: str | None = None,
    *,
    workers: int | None = None,
    processes: bool = True,
    timeout: float = 10.0,
) -> Runner:
    """The runner for ``--scheduler`` (None: this process or a process pool, by ``workers``)."""
    check_scheduler(scheduler)
    if scheduler is not None:
        return DaskRunner(scheduler, workers, processes=processes, timeout=timeout)
    count = workers or os.cpu_count() or 1
    return ProcessPoolRunner(count) if count > 1 else Runner()


def chunk_size(trials: int, workers: int, largest: int = 25) -> int:
    """Trials per task: about ten tasks per worker, never more than ``largest``.

    A task costs the scheduler about a millisecond and a simulated MAPP-sized trial 20-100 ms, so
    a few trials per task keep the overhead small, while small tasks keep the progress bar moving
    and the workers evenly loaded at the end.
    """
    return max(1, min(largest, trials // (10 * workers)))
