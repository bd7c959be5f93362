#!/usr/bin/env python3
"""Scan throughput and memory of `triage` against minidump-stackwalk 0.27, in one run.

Usage: bench/scan.py [--count 2000] [--big-count 20000] [--stackwalk-sample 200] [--runs 3]

Builds the release binaries, generates a synthetic share with the corpus generator
(symbol files padded to realistic 1-5 MB sizes), then measures on this machine, now:
  * `triage scan` over the whole share (median of --runs runs, wall clock, all cores),
    with worker processes (the default) and with `--isolate thread`;
  * `minidump-stackwalk --json` once per file over a sample of the same files, two at a
    time (xargs -P <cores>), with the same symbols; its per-dump cost is constant, so the
    sample rate stands for the share;
  * peak RSS of `triage scan` for --count and --big-count dumps (flat memory check);
  * the adversarial dump (200 threads x 64 KiB of pointers, no symbols): time and peak RSS
    of `triage dump`, and minidump-stackwalk on a 20-thread variant (its full-size run
    needs gigabytes).
Prints a Markdown table to paste into BENCHMARKS.md.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess

from benchlib import (GEN, TRIAGE, WORK, build_release, dumps_in, measure, run,
                      stackwalk_files_cmd, stackwalk_version)


def share(count, pad=True):
    path = os.path.join(WORK, f"share-{count}")
    if not os.path.exists(os.path.join(path, "share.json")):
        shutil.rmtree(path, ignore_errors=True)
        run([GEN, "share", path, "--count", str(count)] + (["--pad-symbols"] if pad else []),
            stdout=subprocess.DEVNULL)
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--big-count", type=int, default=20000)
    ap.add_argument("--stackwalk-sample", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    cores = os.cpu_count() or 2
    build_release()
    stackwalk, sw_version = stackwalk_version()
    os.makedirs(WORK, exist_ok=True)

    small = share(args.count)
    symbols = os.path.join(small, "symbols")
    files = dumps_in(small)
    sym_bytes = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(symbols) for f in fs)
    out = os.path.join(WORK, "scan.jsonl")

    scan_cmd = [TRIAGE, "scan", os.path.join(small, "dumps"), "--symbols", symbols,
                "--format", "jsonl", "--output", out]
    triage_runs = [measure(scan_cmd) for _ in range(args.runs)]
    triage_wall = statistics.median(m.wall for m in triage_runs)
    # What worker processes (the default) cost over threads, on the same share.
    thread_runs = [measure(scan_cmd + ["--isolate", "thread"]) for _ in range(args.runs)]
    thread_wall = statistics.median(m.wall for m in thread_runs)
    with open(out) as f:
        lines = sum(1 for _ in f)
    assert lines == len(files), (lines, len(files))

    sample = files[:: max(1, len(files) // args.stackwalk_sample)][: args.stackwalk_sample]
    listing = os.path.join(WORK, "sample.txt")
    with open(listing, "w") as f:
        f.write("\n".join(sample) + "\n")
    sw_cmd = stackwalk_files_cmd(stackwalk, symbols, listing, cores)
    sw_runs = [measure(sw_cmd) for _ in range(args.runs)]
    sw_wall = statistics.median(m.wall for m in sw_runs)

    triage_rate = len(files) / triage_wall
    sw_rate = len(sample) / sw_wall

    big = share(args.big_count)
    big_cmd = [TRIAGE, "scan", os.path.join(big, "dumps"), "--symbols", os.path.join(big, "symbols"),
               "--format", "jsonl", "--output", os.path.join(WORK, "scan-big.jsonl")]
    big_scan = measure(big_cmd)
    big_wall, big_rss = big_scan.wall, big_scan.largest_rss
    small_rss = statistics.median(m.largest_rss for m in triage_runs)

    adversarial = os.path.join(WORK, "adversarial.dmp")
    small_adversarial = os.path.join(WORK, "adversarial-20.dmp")
    run([GEN, "adversarial", adversarial], stdout=subprocess.DEVNULL)
    run([GEN, "adversarial", small_adversarial, "--threads", "20"], stdout=subprocess.DEVNULL)
    adv = measure([TRIAGE, "dump", adversarial, "--format", "json"])
    adv_wall, adv_rss = adv.wall, adv.largest_rss
    report = json.loads(subprocess.run([TRIAGE, "dump", adversarial, "--format", "json"],
                                       capture_output=True, text=True).stdout)
    adv_frames = sum(len(t["frames"]) for t in report["threads"])
    sw_adv_run = measure([stackwalk, "--json", small_adversarial])
    sw_adv_wall, sw_adv_rss = sw_adv_run.wall, sw_adv_run.largest_rss
    sw_adv = json.loads(subprocess.run([stackwalk, "--json", small_adversarial],
                                       capture_output=True, text=True).stdout)
    sw_adv_frames = sum(len(t["frames"]) for t in sw_adv["threads"])

    print(f"machine: {cores} cores; {sw_version}; share of {len(files)} dumps, "
          f"symbols {sym_bytes / 2**20:.1f} MiB; medians of {args.runs} runs\n")
    print("| measurement | triage | minidump-stackwalk | ratio |")
    print("|---|---|---|---|")
    print(f"| throughput, dumps/s ({len(files)} dumps; reference on {len(sample)}) | "
          f"{triage_rate:.1f} | {sw_rate:.1f} | {triage_rate / sw_rate:.1f}x |")
    print(f"| throughput with --isolate thread, dumps/s | {len(files) / thread_wall:.1f} | | "
          f"processes take {triage_wall / thread_wall:.2f}x the threads' time |")
    print(f"| peak RSS, scan of {len(files)} dumps | {small_rss:.0f} MiB | | |")
    print(f"| peak RSS, scan of {args.big_count} dumps ({big_wall:.0f} s) | {big_rss:.0f} MiB | | "
          f"{big_rss / small_rss:.2f}x of the {len(files)}-dump figure |")
    print(f"| adversarial dump, 200 threads: wall, peak RSS, frames | {adv_wall:.1f} s, "
          f"{adv_rss:.0f} MiB, {adv_frames} frames, status {report['status']} | | |")
    print(f"| adversarial dump, 20 threads: wall, peak RSS, frames | | {sw_adv_wall:.1f} s, "
          f"{sw_adv_rss:.0f} MiB, {sw_adv_frames} frames | |")


if __name__ == "__main__":
    main()
