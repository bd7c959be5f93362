"""What bench/scan.py and bench/symbols.py share: paths, the release build, timing one
command with its peak memory, and finding the reference walker."""
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "target", "bench")
TRIAGE = os.path.join(ROOT, "target", "release", "triage")
GEN = os.path.join(ROOT, "target", "release", "triage-corpus")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
# How often the process tree's memory is sampled.
SAMPLE_SECONDS = 0.05


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def build_release():
    run(["cargo", "build", "--release", "-q", "-p", "triage-cli", "-p", "triage-corpus"], cwd=ROOT)


@dataclass
class Measurement:
    wall: float
    # Peak RSS of the largest single process (GNU time: the command or its largest
    # descendant), MiB.
    largest_rss: float
    # Peak of the summed RSS (and PSS, which counts a page shared by n processes 1/n times)
    # of the whole process tree, sampled every SAMPLE_SECONDS; None unless asked for.
    tree_rss: float = None
    tree_pss: float = None
    # Killed because the tree's RSS passed the limit: wall and memory are up to that moment.
    stopped: bool = False


def _descendants(pid):
    """Every process below `pid`, from /proc/<pid>/task/*/children."""
    found, pending = [], [pid]
    while pending:
        parent = pending.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as f:
                    children = [int(c) for c in f.read().split()]
            except OSError:
                continue
            found += children
            pending += children
    return found


def _memory(pid):
    """(RSS, PSS) of one process in bytes; zeros once it has exited."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            rss = int(f.read().split()[1]) * PAGE_SIZE
        with open(f"/proc/{pid}/smaps_rollup") as f:
            pss = int(re.search(r"^Pss:\s+(\d+) kB", f.read(), re.M).group(1)) * 1024
        return rss, pss
    except (OSError, AttributeError, ValueError):
        return 0, 0


def measure(cmd, env=None, sample_tree=False, tree_rss_limit_mib=None):
    """Runs `cmd` under GNU time (exits on failure) and returns its Measurement. With
    `tree_rss_limit_mib` (and `sample_tree`), kills the command's process group once the
    tree's RSS passes it, so a run cannot take the shared machine's memory."""
    start = time.monotonic()
    # Its own process group, so that a stop kills exactly this command and its workers.
    proc = subprocess.Popen(["/usr/bin/time", "-v"] + cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    peaks = [0, 0]
    stopped = threading.Event()
    done = threading.Event()

    def sample():
        while not done.wait(SAMPLE_SECONDS):
            # Below GNU time itself: the command and every worker it started.
            memory = [_memory(pid) for pid in _descendants(proc.pid)]
            peaks[0] = max(peaks[0], sum(rss for rss, _ in memory))
            peaks[1] = max(peaks[1], sum(pss for _, pss in memory))
            if tree_rss_limit_mib and peaks[0] > tree_rss_limit_mib * 2**20 and not done.is_set():
                stopped.set()
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                return

    sampler = threading.Thread(target=sample, daemon=True) if sample_tree else None
    if sampler:
        sampler.start()
    _, stderr = proc.communicate()
    wall = time.monotonic() - start
    done.set()
    if sampler:
        sampler.join()
    tree = [p / 2**20 for p in peaks] if sample_tree else [None, None]
    if stopped.is_set():
        return Measurement(wall, None, *tree, stopped=True)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{stderr[-2000:]}")
    largest = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr).group(1)) / 1024
    if sample_tree:
        # A command shorter than one sampling period is never sampled; the tree holds at
        # least its largest process.
        tree[0] = max(tree[0], largest)
    return Measurement(wall, largest, *tree)


def dumps_in(path):
    found = []
    for root, _, files in os.walk(os.path.join(path, "dumps")):
        for name in files:
            full = os.path.join(root, name)
            with open(full, "rb") as f:
                if f.read(4) == b"MDMP":
                    found.append(full)
    return sorted(found)


def stackwalk_version():
    exe = shutil.which("minidump-stackwalk")
    if not exe:
        sys.exit("minidump-stackwalk not found: cargo install minidump-stackwalk --version 0.27.0 --locked")
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()
    if "0.27." not in version:
        sys.exit(f"need minidump-stackwalk 0.27, have {version}")
    return exe, version


def stackwalk_files_cmd(stackwalk, symbols, listing, cores):
    """minidump-stackwalk --json once per file named in `listing`, `cores` at a time."""
    return ["sh", "-c", f"xargs -P {cores} -I{{}} {stackwalk} --json --symbols-path {symbols} {{}} "
            f"> /dev/null 2>&1 < {listing}"]
