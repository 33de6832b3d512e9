"""The analysis rows' spool: what is stored equals what was added, in order, and nothing is left on disk."""
from __future__ import annotations

import random

import duckdb
import pyarrow as pa

from duanka import warehouse
from duanka.link.spool import RowSpool, spool_folder


def _batch(rng: random.Random, start: int, size: int) -> pa.Table:
    return pa.table({"packet_id": pa.array([f"DK-{start + i:07d}" for i in range(size)], pa.string()),
                     "node": pa.array([f"phone:{rng.randrange(10**10)}" for _ in range(size)], pa.string()),
                     "role": pa.array([rng.choice(["member", "collector"]) for _ in range(size)], pa.string()),
                     "score": pa.array([rng.random() for _ in range(size)], pa.float64())})


def test_spool_stores_every_row_in_the_order_added_and_cleans_up(tmp_path):
    rng = random.Random(7)
    con = warehouse.connect(tmp_path / "warehouse.duckdb")
    folder = spool_folder(con)
    assert folder == tmp_path / "warehouse.duckdb.spool"
    folder.mkdir()
    (folder / "0000000-group_roles.parquet").write_bytes(b"left by a killed night")
    batches = [_batch(rng, start, size) for start, size in ((0, 3000), (3000, 0), (3000, 1), (3001, 5000))]
    con.begin()
    with RowSpool(folder) as spool:
        assert not any(folder.iterdir())  # a killed night's files are gone before anything is spooled
        for rows in batches:
            spool.add("group_roles", rows)
        assert spool.store(con, "group_roles") == 8001
        assert spool.store(con, "group_roles") == 0  # stored once
    con.commit()
    assert not folder.exists()
    stored = con.sql("SELECT packet_id, node, role, score FROM group_roles ORDER BY rowid").to_arrow_table()
    assert stored.equals(pa.concat_tables(batches).cast(stored.schema))


def test_spool_of_an_in_memory_database_uses_a_temporary_folder():
    con = duckdb.connect()
    folder = spool_folder(con)
    with RowSpool(folder) as spool:
        con.execute("CREATE TABLE t (packet_id VARCHAR, node VARCHAR, role VARCHAR, score DOUBLE)")
        spool.add("t", _batch(random.Random(1), 0, 10))
        assert spool.store(con, "t") == 10
    assert not folder.exists()
