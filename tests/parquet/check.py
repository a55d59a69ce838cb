#!/usr/bin/env python3
"""Checks a `cgrec export --format parquet` file against the CSV export of
the same trace, row for row, with pyarrow (an independent Parquet reader).

usage: check.py EXPORT.parquet EXPORT.csv
Prints `OK N rows` and exits 0 when every row is equal; prints the first
difference and exits 1 otherwise; exits 3 with a SKIP line when pyarrow is
not installed (`pip install pyarrow`).
"""
import csv
import sys

try:
    import pyarrow as pa
    import pyarrow.parquet as pq
except ImportError:
    print("SKIP: pyarrow is not installed (pip install pyarrow)")
    sys.exit(3)

EXPECTED_SCHEMA = [
    ("timestamp_ns", pa.timestamp("ns", tz="UTC")),
    ("cgroup", pa.string()),
    ("kind", pa.string()),
    ("usage_bytes", pa.uint64()),
    ("limit_bytes", pa.uint64()),
]


def main(parquet_path, csv_path):
    table = pq.read_table(parquet_path)
    got_schema = [(f.name, f.type) for f in table.schema]
    if got_schema != EXPECTED_SCHEMA:
        print(f"schema differs: {got_schema} != {EXPECTED_SCHEMA}")
        return 1
    times = table.column("timestamp_ns").cast(pa.int64()).to_pylist()
    cols = [table.column(n).to_pylist() for n in ("cgroup", "kind", "usage_bytes", "limit_bytes")]
    with open(csv_path, newline="") as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    if header != ["timestamp_ns", "cgroup", "kind", "usage_bytes", "limit_bytes"]:
        print(f"unexpected CSV header {header}")
        return 1
    if len(rows) != table.num_rows:
        print(f"{table.num_rows} Parquet rows, {len(rows)} CSV rows")
        return 1
    opt = lambda s: None if s == "" else int(s)
    for i, r in enumerate(rows):
        want = (int(r[0]), r[1], r[2], opt(r[3]), opt(r[4]))
        got = (times[i], cols[0][i], cols[1][i], cols[2][i], cols[3][i])
        if want != got:
            print(f"row {i + 1} differs: parquet {got} csv {want}")
            return 1
    print(f"OK {len(rows)} rows")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
