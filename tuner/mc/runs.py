"""Generate events and fill analyses, in chunks, on one or many processes.

A run of ``n`` events is cut into chunks of a fixed size (independent of the number of workers);
chunk ``k`` gets a Pythia seed derived from the master seed and ``k``. The raw fills of the chunks
add up exactly (integer-valued sums), so a master seed gives identical histograms on 1 or 16
workers. A worker that dies (Pythia abort, segfault) raises :class:`GenerationError` carrying the
last lines of its stderr; the caller decides what to do (the tuner records a failed evaluation).
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tuner.errors import TunerError
from tuner.execution.executors import process_pool
from tuner.mc.analyses import ANALYSES, EventBatch, Fills, filled_keys
from tuner.mc.analyses.plugins import load_plugins
from tuner.mc.generators import PythiaGenerator
from tuner.mc.refdata import RefHisto

__all__ = ["CHUNK_SIZE", "GenerationError", "RunSpec", "chunk_seeds", "evaluate_point", "generate",
           "generate_chunks", "head_tail", "needed_refs", "run_chunk"]

#: events per chunk: the unit of work and of seeding (fixed, so results do not depend on workers)
CHUNK_SIZE = 10_000


class GenerationError(TunerError):
    """Event generation failed (the worker crashed or Pythia refused to run)."""


@dataclass(frozen=True)
class RunSpec:
    """Everything a worker needs to generate and analyse events.

    Attributes:
        settings: Pythia settings (tuned parameters and fixed settings).
        analyses: Names of registered analyses to run.
        refs: Reference histograms giving the binning (only the keys the analyses fill are used).
        preset: Process preset of :class:`~tuner.mc.generators.PythiaGenerator`.
        sqrt_s: Centre-of-mass energy (GeV) used for scaled momenta.
        batch_size: Events per ``nextBatch`` call.
        fault: Testing hook: ``"segv"`` makes the worker crash hard after the first batch.
        plugins: User analysis plug-ins to import in the worker first
            (:func:`tuner.mc.analyses.plugins.load_plugins`).
    """

    settings: Mapping[str, Any]
    analyses: tuple[str, ...]
    refs: Mapping[str, RefHisto] = field(repr=False)
    preset: str | None = "ee_Z_hadrons_91.2"
    sqrt_s: float = 91.2
    batch_size: int = 1000
    fault: str | None = None
    plugins: tuple[str, ...] = ()


def chunk_seeds(master_seed: int, n_chunks: int) -> list[int]:
    """Pythia seeds (1..900000000) of the chunks of a run, derived from one master seed."""
    ss = np.random.SeedSequence(master_seed)
    return [int(s.generate_state(1)[0] % 900_000_000) + 1 for s in ss.spawn(n_chunks)]


def run_chunk(spec: RunSpec, n_events: int, seed: int, stderr_path: str | None = None) -> bytes:
    """Generate ``n_events`` with ``seed`` and return the analyses' raw fills (serialised).

    Memory stays flat: one batch of events is alive at a time.
    """
    saved = None
    if stderr_path is not None:
        saved = os.dup(2)
        fd = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 2)
        os.close(fd)
    try:
        load_plugins(spec.plugins)
        gen = PythiaGenerator(spec.settings, preset=spec.preset)
        analyses = [ANALYSES[a](spec.refs) for a in spec.analyses]
        for i, events in enumerate(gen.batches(n_events, seed, spec.batch_size)):
            batch = EventBatch(events, gen.charge, spec.sqrt_s)
            for ana in analyses:
                ana.process(batch)
            if spec.fault == "segv" and i == 0:
                os.write(2, b"fault injection: SIGSEGV after the first batch\n")
                os.kill(os.getpid(), signal.SIGSEGV)
        fills = Fills(n_generated=n_events)
        for ana in analyses:
            fills += ana.fills()
        return fills.to_bytes()
    finally:
        if saved is not None:
            os.dup2(saved, 2)
            os.close(saved)


def head_tail(text: str, n: int = 3000) -> str:
    """First and last ``n`` characters (a crash's own message comes before the fault dump, whose
    thread stacks and module list can run to several thousand characters)."""
    return text if len(text) <= 2 * n else f"{text[:n]}\n[...]\n{text[-n:]}"


def _head_tail_of(path: Path) -> str:
    try:
        return head_tail(path.read_text(errors="replace"))
    except OSError:
        return ""


def generate(spec: RunSpec, n_events: int, seed: int, executor: Executor | None = None,
             n_workers: int = 1, chunk_size: int = CHUNK_SIZE, progress: Any = None,
             stderr_path: str | None = None) -> Fills:
    """Generate ``n_events`` and return the merged raw fills (the arguments and errors of
    :func:`generate_chunks`; exactly the same fills for any number of workers)."""
    return Fills.merge(generate_chunks(spec, n_events, seed, executor, n_workers, chunk_size,
                                       progress, stderr_path))


def generate_chunks(spec: RunSpec, n_events: int, seed: int, executor: Executor | None = None,
                    n_workers: int = 1, chunk_size: int = CHUNK_SIZE, progress: Any = None,
                    stderr_path: str | None = None) -> list[Fills]:
    """Generate ``n_events`` in chunks of independent seeds and return each chunk's raw fills
    (what a resampling estimate of a statistic's spread needs; :func:`generate` merges them).

    Args:
        spec: What to run.
        n_events: Number of events.
        seed: Master seed.
        executor: Where chunks run; ``None``: in this process for ``n_workers=1``, else a local
            process pool of ``n_workers``.
        n_workers: Worker processes when no executor is given.
        chunk_size: Events per chunk (changing it changes the seeds, hence the events).
        progress: Optional callable ``progress(events_done)`` after each chunk.
        stderr_path: In-process runs only: append this process's stderr (Pythia's messages, a
            crash's last words) to this file while generating.

    Returns:
        The fills of each chunk, in chunk order (the same for any number of workers).

    Raises:
        GenerationError: a worker crashed or Pythia failed; the message carries its stderr.
    """
    if n_events < 1:
        raise GenerationError(f"the number of events must be >= 1, got {n_events}")
    sizes = [chunk_size] * (n_events // chunk_size)
    if n_events % chunk_size:
        sizes.append(n_events % chunk_size)
    seeds = chunk_seeds(seed, len(sizes))
    if executor is None and n_workers == 1:
        chunks, done = [], 0
        for n, s in zip(sizes, seeds, strict=True):
            chunks.append(Fills.from_bytes(run_chunk(spec, n, s, stderr_path)))
            done += n
            if progress:
                progress(done)
        return chunks
    if executor is None:
        executor = process_pool(n_workers)
    tmp = Path(tempfile.mkdtemp(prefix="tuner-gen-"))
    futures = []
    for k, (n, s) in enumerate(zip(sizes, seeds, strict=True)):
        futures.append(executor.submit(run_chunk, spec, n, s, str(tmp / f"chunk{k}.err")))
    results: list[Fills | None] = [None] * len(futures)
    try:
        done = 0
        for k, fut in enumerate(futures):
            try:
                results[k] = Fills.from_bytes(fut.result())
            except Exception as exc:
                for f in futures:
                    f.cancel()
                err = "".join(_head_tail_of(p) for p in sorted(tmp.glob("*.err")))
                raise GenerationError(
                    f"event generation failed in chunk {k} (seed {seeds[k]}): "
                    f"{type(exc).__name__}: {exc}\n--- worker stderr ---\n{err}") from exc
            done += sizes[k]
            if progress:
                progress(done)
    finally:
        # an own pool is loky's reusable one: it stays up for the next call
        for p in tmp.glob("*"):
            p.unlink(missing_ok=True)
        tmp.rmdir()
    return [r for r in results if r is not None]  # every chunk returned, or it raised


def needed_refs(refs: Mapping[str, RefHisto], analyses: Sequence[str]) -> dict[str, RefHisto]:
    """The reference histograms the given analyses fill."""
    keys = filled_keys(analyses)
    return {k: v for k, v in refs.items() if k in keys}


def evaluate_point(spec: RunSpec, n_events: int, seed: int,
                   stderr_path: str | None = None) -> dict[str, Any]:
    """Worker side of one evaluation: generate and return the raw fills (serialised).

    It lives here, beside :func:`generate`, so that a worker process unpickling it imports only
    the generator and the analyses, not the optimiser, torch and matplotlib. The worker's stderr
    goes to ``stderr_path`` while it runs, so a crash leaves its last words.
    """
    t0 = time.perf_counter()
    fills = generate(spec, n_events, seed, stderr_path=stderr_path)
    return {"fills": fills.to_bytes(), "seconds": time.perf_counter() - t0}
