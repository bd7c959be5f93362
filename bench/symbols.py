#!/usr/bin/env python3
"""Symbol loading of `triage` against minidump-stackwalk 0.27, in one run: one dump with a
huge `.sym` file, and shares of many builds, each build with its own symbol files.

Usage: bench/symbols.py [--builds 10,30,100] [--dumps-per-build 30] [--sym-mb 10]
                        [--big-sym-mb 160] [--runs 3] [--one-dump-runs 11]
                        [--stackwalk-sample 60]
                        [--tree-rss-limit-mb 6000] [--keep-inputs] [--quick]

Builds the release binaries, generates the inputs under target/bench/ with the corpus
generator, then measures on this machine, now (medians of --one-dump-runs runs for the one dump, of
--runs for the shares):
  * one dump (`triage-corpus big-symbols`) whose main module's .sym is --big-sym-mb MB, the
    other 7 modules' 1.2-4.7 MB: `minidump-stackwalk --json --symbols-path`, `triage dump`
    with a cold cache (a fresh XDG_CACHE_HOME, so any symbol index is built in that run) and
    warm (a second run on the same cache);
  * for each of --builds: a share (`triage-corpus share --builds B --count
    --dumps-per-build --sym-mb`) of B builds, every build with its own 9 .sym files of
    --sym-mb MB; `triage scan DIR/dumps --symbols DIR/symbols --format jsonl --output FILE`
    cold and warm, and minidump-stackwalk once per file over --stackwalk-sample of the same
    dumps (spread over the builds), <cores> at a time; its per-dump cost is constant, so the
    sample's rate stands for the share. Each round runs cold, warm, then the reference, and
    a throughput ratio is the median of the rounds' ratios.
Wall time and the largest single process's peak RSS come from GNU time; `triage scan` runs
worker processes, so the whole process tree's RSS (and PSS, which counts shared pages once)
is also summed from /proc every 50 ms. A triage run whose tree passes --tree-rss-limit-mb
(6000 MiB) is killed and reported as stopped, so that a regression to holding every build's
parsed symbols in every worker (as the text parser before the symbol index did) cannot take
the shared machine's memory. The one-build share (bench/scan.py) is not repeated.

Disk: a share takes builds x 9 x --sym-mb MB (100 builds at 10 MB: 9 GB; 10, 30 and 100
builds together 12.6 GB) plus the symbol indexes triage writes (about 1.3x the .sym files
indexed); the big dump 170 MB.
Each share and its caches are removed once measured unless --keep-inputs, so at most one share
is on disk at a time; the script stops first if the disk lacks room for the largest.
Generation runs at about 120 MB/s on the 2-core machine (10, 30, 100 builds: 10, 29, 76 s).

Prints a Markdown table (measurement, triage, minidump-stackwalk, ratio, target, met?) to
paste into BENCHMARKS.md.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import (GEN, TRIAGE, WORK, build_release, measure, run, stackwalk_files_cmd,
                      stackwalk_version)

# Every build of a share has this many .sym files: the MTA's 8 modules and the fixed MAPI32.
SYM_FILES_PER_BUILD = 9
MIB_PER_MB = 1e6 / 2**20


def median(values):
    return statistics.median(list(values))


def fresh_cache():
    """An empty XDG_CACHE_HOME, so that triage finds no symbol cache or index."""
    return tempfile.mkdtemp(prefix="cache-", dir=WORK)


def triage_env(cache):
    env = {k: v for k, v in os.environ.items() if k != "_NT_SYMBOL_PATH"}
    env["XDG_CACHE_HOME"] = cache
    return env


def cold_and_warm(cmd, args, runs):
    """`runs` pairs of a run on a fresh cache and a second run on the same cache; after a run
    stopped at the memory limit, no more."""
    cold, warm = [], []
    for _ in range(runs):
        cache = fresh_cache()
        for runs in (cold, warm):
            runs.append(measure(cmd, env=triage_env(cache), sample_tree=True,
                                tree_rss_limit_mib=args.tree_rss_limit_mb))
            if runs[-1].stopped:
                shutil.rmtree(cache)
                return cold, warm
        shutil.rmtree(cache)
    return cold, warm


def stopped(runs):
    """The run that hit the memory limit, if one did."""
    return next((m for m in runs if m.stopped), None)


def free_bytes():
    return shutil.disk_usage(WORK).free


def need_disk(nbytes, what):
    if free_bytes() < nbytes * 1.2:
        sys.exit(f"{what} needs about {nbytes / 1e9:.1f} GB, {free_bytes() / 1e9:.1f} GB free "
                 f"on {WORK}")


def generate(path, cmd):
    """Runs the generator into `path` unless a finished run is there; returns seconds taken."""
    if os.path.exists(os.path.join(path, "done")):
        return None
    shutil.rmtree(path, ignore_errors=True)
    start = time.monotonic()
    run(cmd, stdout=subprocess.DEVNULL)
    open(os.path.join(path, "done"), "w").close()
    return time.monotonic() - start


def disk_use(path):
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)


def function_names(report):
    """Every thread's frames' function names, from a triage or a minidump-stackwalk report."""
    return [[frame.get("function") for frame in thread["frames"]] for thread in report["threads"]]


class Table:
    def __init__(self):
        self.rows = []

    def add(self, measurement, triage, stackwalk, ratio, target, met):
        verdict = "" if met is None else ("yes" if met else "**no**")
        self.rows.append((measurement, triage, stackwalk, ratio, target, verdict))

    def print(self):
        print("| measurement | triage | minidump-stackwalk | ratio | target | met? |")
        print("|---|---|---|---|---|---|")
        for row in self.rows:
            print("| " + " | ".join(row) + " |")


def big_symbols(args, stackwalk, table):
    path = os.path.join(WORK, f"big-symbols-{args.big_sym_mb}")
    took = generate(path, [GEN, "big-symbols", path, "--sym-mb", str(args.big_sym_mb)])
    dump = os.path.join(path, "q269588.dmp")
    symbols = os.path.join(path, "symbols")
    main_sym = max((os.path.join(r, f) for r, _, fs in os.walk(symbols) for f in fs),
                   key=os.path.getsize)
    print(f"big-symbols: main .sym {os.path.getsize(main_sym) / 1e6:.0f} MB, all symbols "
          f"{disk_use(symbols) / 1e6:.0f} MB" + (f", generated in {took:.1f} s" if took else ""),
          file=sys.stderr)

    sw_cmd = [stackwalk, "--json", "--symbols-path", symbols, dump]
    triage_cmd = [TRIAGE, "dump", dump, "--symbols", symbols, "--format", "json"]
    sw = [measure(sw_cmd) for _ in range(args.one_dump_runs)]
    cold, warm = cold_and_warm(triage_cmd, args, args.one_dump_runs)

    # Both walkers must name the same functions, or the timing compares different work.
    cache = fresh_cache()
    ours = json.loads(subprocess.run(triage_cmd, capture_output=True, text=True, check=True,
                                     env=triage_env(cache)).stdout)
    shutil.rmtree(cache)
    theirs = json.loads(subprocess.run(sw_cmd, capture_output=True, text=True, check=True).stdout)
    same = function_names(ours) == function_names(theirs)
    named = sum(1 for thread in function_names(ours) for f in thread if f)

    if stopped(cold + warm):
        sys.exit(f"triage dump passed {args.tree_rss_limit_mb} MiB on one dump")
    sw_wall, sw_rss = median(m.wall for m in sw), median(m.largest_rss for m in sw)
    size = f"{os.path.getsize(main_sym) / 1e6:.0f} MB .sym"
    for label, runs in (("cold", cold), ("warm", warm)):
        wall = median(m.wall for m in runs)
        speedup = sw_wall / wall
        if label == "cold":
            target, met = "≤ 1.5× minidump-stackwalk's time", wall <= 1.5 * sw_wall
        else:
            target, met = "≥ 50× speedup", speedup >= 50
        table.add(f"one dump, {size}, {label} cache: wall", f"{wall:.2f} s", f"{sw_wall:.2f} s",
                  f"{speedup:.2f}× speedup", target, met)
    warm_rss = median(m.tree_rss for m in warm)
    cold_rss = median(m.tree_rss for m in cold)
    table.add(f"one dump, {size}: peak RSS cold / warm", f"{cold_rss:.0f} / {warm_rss:.0f} MiB",
              f"{sw_rss:.0f} MiB", f"{warm_rss / sw_rss:.2f}× (warm)", "warm ≤ 100 MB",
              warm_rss <= 100 * MIB_PER_MB)
    table.add(f"one dump, {size}: frames symbolized", f"{named} named",
              "", "same names" if same else "**names differ**", "same as minidump-stackwalk",
              same)


def sample_of(files, n):
    return files[:: max(1, len(files) // n)][:n]


def share_of_builds(args, builds, stackwalk, cores):
    """Measures one share; returns its figures."""
    path = os.path.join(WORK, f"builds-{builds}x{args.dumps_per_build}-{args.sym_mb}mb")
    need_disk(builds * SYM_FILES_PER_BUILD * args.sym_mb * 1e6 if not os.path.exists(path) else 0,
              f"the {builds}-build share")
    took = generate(path, [GEN, "share", path, "--builds", str(builds), "--count",
                           str(args.dumps_per_build), "--sym-mb", str(args.sym_mb), "--seed", "1"])
    with open(os.path.join(path, "share.json")) as f:
        listed = [os.path.join(path, d["file"]) for d in json.load(f)["dumps"]]
    symbols = os.path.join(path, "symbols")
    print(f"{builds} builds: {len(listed)} dumps, symbols {disk_use(symbols) / 1e9:.2f} GB"
          + (f", generated in {took:.0f} s" if took else ""), file=sys.stderr)

    out = os.path.join(WORK, "symbols-scan.jsonl")
    scan_cmd = [TRIAGE, "scan", os.path.join(path, "dumps"), "--symbols", symbols,
                "--format", "jsonl", "--output", out]
    # share.json lists the dumps build by build, so a stride spreads the sample over them.
    sample = sample_of(listed, args.stackwalk_sample)
    listing = os.path.join(WORK, "symbols-sample.txt")
    with open(listing, "w") as f:
        f.write("\n".join(sample) + "\n")
    # Each cold/warm pair is followed by a reference run, and each ratio is taken within
    # one round: on a shared machine the load drifts over minutes.
    cold, warm, sw = [], [], []
    for _ in range(args.runs):
        pair = cold_and_warm(scan_cmd, args, 1)
        cold += pair[0]
        warm += pair[1]
        if stopped(cold + warm):
            break
        sw.append(measure(stackwalk_files_cmd(stackwalk, symbols, listing, cores)))
    # A stopped run's output says how far it got.
    with open(out) as f:
        reported = sum(1 for _ in f)
    if not stopped(cold + warm):
        assert reported == len(listed), (reported, len(listed))
    if not args.keep_inputs:
        shutil.rmtree(path)
    return {
        "builds": builds,
        "dumps": len(listed),
        "sample": len(sample),
        "reported": reported,
        "cold": cold,
        "warm": warm,
        "sw_rates": [len(sample) / m.wall for m in sw],
        "sw_rate": median(len(sample) / m.wall for m in sw) if sw else float("nan"),
        "sw_rss": median(m.largest_rss for m in sw) if sw else float("nan"),
    }


def report_shares(shares, args, table):
    for share in shares:
        head = f"{share['builds']} builds × {args.dumps_per_build} dumps"
        halted = stopped(share["cold"] + share["warm"])
        if halted:
            label = "cold" if stopped(share["cold"]) else "warm"
            table.add(f"{head}, {label} cache: stopped, process tree over "
                      f"{args.tree_rss_limit_mb} MiB",
                      f"after {halted.wall:.1f} s, {share['reported']} of {share['dumps']} dumps "
                      f"reported", f"{share['sw_rate']:.1f} dumps/s", "", "≤ 400 MB", False)
            continue
        for label, target in (("cold", 25), ("warm", 200)):
            rates = [share["dumps"] / m.wall for m in share[label]]
            ratios = [rate / sw for rate, sw in zip(rates, share["sw_rates"])]
            ratio = median(ratios)
            table.add(f"{head}, {label} cache: dumps/s (reference on {share['sample']})",
                      f"{median(rates):.1f}", f"{share['sw_rate']:.1f}",
                      f"{ratio:.1f}× ({', '.join(f'{r:.1f}' for r in ratios)})",
                      f"≥ {target}×", ratio >= target)
        for label in ("cold", "warm"):
            runs = share[label]
            tree, pss = median(m.tree_rss for m in runs), median(m.tree_pss for m in runs)
            largest = median(m.largest_rss for m in runs)
            table.add(f"{head}, {label} cache: peak RSS, process tree (PSS; largest process)",
                      f"{tree:.0f} MiB ({pss:.0f}; {largest:.0f})",
                      f"{share['sw_rss']:.0f} MiB per process", "", "≤ 400 MB",
                      tree <= 400 * MIB_PER_MB)
    measured = [share for share in shares if not stopped(share["cold"] + share["warm"])]
    if len(measured) > 1:
        first, last = measured[0], measured[-1]
        for label in ("cold", "warm"):
            growth = (median(m.tree_rss for m in last[label])
                      / median(m.tree_rss for m in first[label]))
            table.add(f"peak RSS (tree), {last['builds']} against {first['builds']} builds, "
                      f"{label}", f"{growth:.2f}×", "", "", "≤ 1.2×", growth <= 1.2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--builds", default="10,30,100")
    ap.add_argument("--dumps-per-build", type=int, default=30)
    ap.add_argument("--sym-mb", type=int, default=10)
    ap.add_argument("--big-sym-mb", type=int, default=160)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--one-dump-runs", type=int, default=11,
                    help="runs of the one-dump measurements, which take milliseconds to a "
                    "second each, so that their medians hold on a noisy machine")
    ap.add_argument("--stackwalk-sample", type=int, default=60)
    ap.add_argument("--tree-rss-limit-mb", type=int, default=6000,
                    help="stop a triage run whose process tree passes this many MiB of RSS")
    ap.add_argument("--keep-inputs", action="store_true",
                    help="keep each generated share (and reuse it on the next run)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 2 and 4 builds x 5 dumps, 1 MB and 20 MB .sym files, 1 run")
    args = ap.parse_args()
    if args.quick:
        args.builds, args.dumps_per_build, args.sym_mb = "2,4", 5, 1
        args.big_sym_mb, args.runs, args.stackwalk_sample = 20, 1, 10
        args.one_dump_runs = 1
    builds = sorted(int(b) for b in args.builds.split(","))
    cores = os.cpu_count() or 2
    build_release()
    stackwalk, sw_version = stackwalk_version()
    os.makedirs(WORK, exist_ok=True)

    table = Table()
    big_symbols(args, stackwalk, table)
    shares = [share_of_builds(args, b, stackwalk, cores) for b in builds]
    report_shares(shares, args, table)

    print(f"machine: {cores} cores; {sw_version}; medians of {args.one_dump_runs} runs (one "
          f"dump) and {args.runs} runs (shares); "
          f"{args.sym_mb} MB .sym files, {SYM_FILES_PER_BUILD} per build; "
          f"figures in MiB, targets in MB (10^6 bytes)\n")
    table.print()
    print("\nThe one-build share (no regression) is bench/scan.py's.")


if __name__ == "__main__":
    main()
