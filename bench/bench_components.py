"""Connected components on a lead-like graph: SciPy on dense ids (duanka's way) vs NetworkX.

Run: .venv/bin/python bench/bench_components.py [--edges 1000000]
Each variant runs in its own process so that peak memory (ru_maxrss) is its own.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import time

import numpy as np


def random_edges(m: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray, int]:
    """Sparse random graph, about 0.7 nodes per edge: many small groups, as leads give."""
    rng = np.random.default_rng(seed)
    n = int(m * 0.7)
    return rng.integers(0, n, m), rng.integers(0, n, m), n


def scipy_core(m: int) -> tuple[float, int]:
    from duanka.link.components import component_labels

    src, dst, n = random_edges(m)
    started = time.perf_counter()
    labels = component_labels(src, dst, n)
    return time.perf_counter() - started, len(np.unique(labels))


def scipy_duckdb(m: int) -> tuple[float, int]:
    """The whole stage step: string keys in DuckDB -> dense_rank -> SciPy -> labels back in DuckDB."""
    import pyarrow as pa

    from duanka.link.components import compute_components
    from duanka.warehouse import connect

    src, dst, _ = random_edges(m)
    con = connect()
    table = pa.table({"s": src, "d": dst})
    con.register("raw", table)
    con.execute("INSERT INTO link_edges SELECT 'account:' || s, 'phone:' || d, 'x' FROM raw")
    started = time.perf_counter()
    count = compute_components(con)
    return time.perf_counter() - started, count


def networkx_cc(m: int) -> tuple[float, int]:
    import networkx as nx

    src, dst, n = random_edges(m)
    started = time.perf_counter()
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(zip(src.tolist(), dst.tolist()))
    count = sum(1 for _ in nx.connected_components(graph))
    return time.perf_counter() - started, count


def _child(name: str, m: int, queue: mp.Queue) -> None:
    seconds, groups = globals()[name](m)
    queue.put((seconds, groups, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--edges", type=int, default=1_000_000)
    m = parser.parse_args().edges
    for name in ("scipy_core", "scipy_duckdb", "networkx_cc"):
        queue: mp.Queue = mp.Queue()
        process = mp.Process(target=_child, args=(name, m, queue))
        process.start()
        seconds, groups, peak = queue.get()
        process.join()
        print(f"{name:14s} edges={m:>9,d} components={groups:>9,d} time={seconds:6.2f} s peak_rss={peak:7.0f} MB")


if __name__ == "__main__":
    main()
