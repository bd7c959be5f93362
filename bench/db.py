#!/usr/bin/env python3
"""The crash database (`triage scan --db`, `triage db ...`), measured on this machine, now.

Usage: bench/db.py [--count 10000] [--runs 3] [--rejudge-rows 100000] [--report-rows 1000000]

Builds the release binaries and generates the share bench/scan.py uses (symbol files padded
to 1-5 MB), then measures (medians of --runs runs, wall clock, all cores):
  * the first `triage scan --db` of the share into a new database, and a re-scan of the
    unchanged share into the same database (nothing to triage: the target is >= 20x faster);
  * the database's bytes per dump after the first scan (file plus WAL, if any);
  * `triage db rejudge` over --rejudge-rows stored dumps, with and without a drafted rule
    that changes the verdict of one bucket (each run changes those verdicts back);
  * `triage db report` over --report-rows stored dumps, all of them and --since 30 days
    ago (the target is under 2 s).
The larger databases are generated from the scanned one by copying its rows (dumps,
reports, modules, findings, frames) with new paths and first_seen spread over 100 days;
the report database copies no reports or frames, which the report does not read.
Prints a Markdown table to paste into BENCHMARKS.md.
"""
import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import time

from benchlib import TRIAGE, WORK, build_release, measure, run
from scan import share


def scan_cmd(path, db):
    return [TRIAGE, "scan", os.path.join(path, "dumps"), "--symbols", os.path.join(path, "symbols"),
            "--db", db]


def remove_db(db):
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)


def db_bytes(db):
    return sum(os.path.getsize(db + s) for s in ("", "-wal") if os.path.exists(db + s))


def replicate(source, target, copies, with_reports):
    """`target`: the rows of `source` `copies` times over, copy k first seen k days earlier."""
    remove_db(target)
    shutil.copy(source, target)
    conn = sqlite3.connect(target)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    (top,) = conn.execute("SELECT max(id) FROM dumps").fetchone()
    if not with_reports:
        conn.execute("DELETE FROM reports")
        conn.execute("DELETE FROM frames")
    # (table, columns copied as they are, whether it has first_day, moved back k days).
    tables = [("modules", "name, key, version, debug_id", True),
              ("findings", "rule, confidence, fix_status, thread, fixed_module, fixed_version,"
                           " installed_version", True)]
    if with_reports:
        tables += [("reports", "json", False),
                   ("frames", "thread, crashed, idx, module, function, offset", False)]
    for k in range(1, copies):
        offset = k * top
        conn.execute(
            "INSERT INTO dumps (id, path, size, mtime, hash, engine, first_seen, first_day,"
            " last_seen, status, error_kind, crash_code, class, signature, bucket, known,"
            " unknown_key, top_module, top_version, rule_set)"
            " SELECT id + ?1, path || '#' || ?2, size, mtime, NULL, engine,"
            " first_seen - ?2 * 86400, first_day - ?2, last_seen, status, error_kind, crash_code,"
            " class, signature, bucket, known, unknown_key, top_module, top_version, rule_set"
            " FROM dumps WHERE id <= ?3",
            (offset, k, top))
        for table, columns, seen in tables:
            into, select = (", first_day", ", first_day - ?3") if seen else ("", "")
            conn.execute(f"INSERT INTO {table} (dump, {columns}{into}) SELECT dump + ?1, {columns}"
                         f"{select} FROM {table} WHERE dump <= ?2", (offset, top, k)[:3 if seen else 2])
        conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    (rows,) = conn.execute("SELECT count(*) FROM dumps").fetchone()
    conn.close()
    return rows


def median_wall(cmd, runs, before=None):
    walls = []
    for _ in range(runs):
        if before:
            before()
        walls.append(measure(cmd).wall)
    return statistics.median(walls)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rejudge-rows", type=int, default=100000)
    ap.add_argument("--report-rows", type=int, default=1000000)
    args = ap.parse_args()
    build_release()
    os.makedirs(WORK, exist_ok=True)
    path = share(args.count)
    db = os.path.join(WORK, f"crashes-{args.count}.db")

    first, rescans, size, dumps = [], [], None, None
    for _ in range(args.runs):
        remove_db(db)
        first.append(measure(scan_cmd(path, db)).wall)
        size = db_bytes(db)
        dumps = sqlite3.connect(f"file:{db}?mode=ro", uri=True).execute(
            "SELECT count(*) FROM dumps").fetchone()[0]
        rescans.append(measure(scan_cmd(path, db)).wall)
    line = subprocess.run(scan_cmd(path, db), capture_output=True, text=True,
                          check=True).stdout.splitlines()[0]
    assert line == f"0 triaged, {dumps} unchanged (0 moved)", line
    first_wall, rescan_wall = statistics.median(first), statistics.median(rescans)

    rule = os.path.join(WORK, "drafted-rule.toml")
    with open(rule, "w") as f:
        f.write(subprocess.run([TRIAGE, "rules", "draft", "--db", db, "--bucket",
                                "HrQueueCopyMessage"], capture_output=True, text=True,
                               check=True).stdout)
    rejudge_db = os.path.join(WORK, "crashes-rejudge.db")
    rejudge_rows = replicate(db, rejudge_db, max(1, args.rejudge_rows // dumps), True)
    rejudge_size = db_bytes(rejudge_db)
    walls = {True: [], False: []}
    changed = {}
    for n in range(2 * args.runs):
        with_rule = n % 2 == 0
        cmd = [TRIAGE, "db", "rejudge", rejudge_db] + (["--rules", rule] if with_rule else [])
        start = time.monotonic()
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        walls[with_rule].append(time.monotonic() - start)
        changed[with_rule] = out.splitlines()[0]

    report_db = os.path.join(WORK, "crashes-report.db")
    report_rows = replicate(db, report_db, max(1, args.report_rows // dumps), False)
    report_wall = median_wall([TRIAGE, "db", "report", report_db], args.runs)
    since = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 30 * 86400))
    since_wall = median_wall([TRIAGE, "db", "report", report_db, "--since", since], args.runs)

    cores = os.cpu_count() or 2
    print(f"machine: {cores} cores; share of {dumps} dumps (symbols padded); "
          f"medians of {args.runs} runs\n")
    print("| measurement | result |")
    print("|---|---|")
    print(f"| first `scan --db` of {dumps} dumps | {first_wall:.2f} s |")
    print(f"| re-scan, share unchanged (`0 triaged, {dumps} unchanged`) | {rescan_wall:.3f} s, "
          f"{first_wall / rescan_wall:.0f}x faster |")
    print(f"| database size after the first scan | {size / dumps:.0f} bytes per dump "
          f"({size / 2**20:.1f} MiB) |")
    print(f"| `db rejudge` of {rejudge_rows} dumps ({rejudge_size / 2**20:.0f} MiB), drafted rule "
          f"added: {changed[True]} | {statistics.median(walls[True]):.2f} s |")
    print(f"| `db rejudge` of {rejudge_rows} dumps, rule removed again: {changed[False]} | "
          f"{statistics.median(walls[False]):.2f} s |")
    print(f"| `db report` over {report_rows} dumps | {report_wall:.2f} s |")
    print(f"| `db report --since {since}` over {report_rows} dumps | {since_wall:.2f} s |")


if __name__ == "__main__":
    main()
