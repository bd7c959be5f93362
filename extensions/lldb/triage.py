"""The `triage` command for LLDB: name known issues in the process or dump LLDB has open.

Load it with `command script import extensions/lldb/triage.py`, then:

    triage                        LLDB's own frames of every thread, judged by the triage rules
    triage --walk [--symbols DIR]...
                                  triage's own walk of the open dump, named from Breakpad symbols
    triage --rules FILE ...       also use these rule files (or directories)
    triage --json                 print the raw JSON report instead

The work is done by the `triage` binary: $TRIAGE_BIN, else `triage` on PATH, else
target/release/triage or target/debug/triage of the checkout this script lives in.
"""

import argparse
import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import lldb

REPO = Path(__file__).resolve().parents[2]

# minidump-stackwalk's names for LLDB's architectures; others are passed through as they are.
CPU_ARCH = {"i386": "x86", "i486": "x86", "i586": "x86", "i686": "x86", "x86_64": "amd64",
            "aarch64": "arm64", "arm64": "arm64", "arm": "arm", "thumb": "arm"}
# How far before its return address minidump-stackwalk reports a caller frame (the parser
# of its JSON adds this back; LLDB gives return addresses).
CALL_LENGTH = {"arm": 2, "arm64": 4}


class UsageError(Exception):
    """A problem the user can fix: bad arguments, nothing loaded, no triage binary."""


class Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting LLDB."""

    def error(self, message):
        raise UsageError(f"{message}\n{self.format_usage()}")


def make_parser():
    """The command line of `triage`."""
    parser = Parser(prog="triage", add_help=False, description=__doc__.split("\n\n")[0],
                    epilog="Without --walk, frames are named only where LLDB has symbols; a "
                    "rule matched on unnamed frames is at best `probable`. "
                    + __doc__.split("\n\n")[-1])
    parser.add_argument("-h", "--help", action="store_true", help="show this help")
    parser.add_argument("--walk", action="store_true",
                        help="walk the open dump with triage itself instead of using LLDB's frames")
    parser.add_argument("--symbols", action="append", default=[], metavar="DIR",
                        help="Breakpad symbol directory for --walk (repeatable)")
    parser.add_argument("--rules", action="append", default=[], metavar="FILE",
                        help="extra rule file or directory (repeatable)")
    parser.add_argument("--json", action="store_true", help="print the JSON report")
    return parser


def find_binary():
    """The triage executable: $TRIAGE_BIN, PATH, then this checkout's target directory."""
    path = os.environ.get("TRIAGE_BIN")
    if path:
        if not os.access(path, os.X_OK):
            raise UsageError(f"TRIAGE_BIN={path} is not an executable file")
        return path
    candidates = [shutil.which("triage")] + [
        str(REPO / "target" / profile / "triage") for profile in ("release", "debug")]
    for path in candidates:
        if path and os.access(path, os.X_OK):
            return path
    raise UsageError("the triage binary was not found: set TRIAGE_BIN, put `triage` on PATH, "
                     f"or build it with `cargo build --release` in {REPO}")


def run_triage(args, stdin=None):
    """Runs the triage binary; returns its JSON report as text and as a dict, and its stderr."""
    binary = find_binary()
    done = subprocess.run([binary, *args], input=stdin, capture_output=True, text=True)
    try:
        report = json.loads(done.stdout)
    except ValueError:
        raise UsageError(f"{binary} failed (exit {done.returncode}): "
                         f"{done.stderr.strip() or done.stdout.strip()}") from None
    if report.get("status") == "error":
        error = report.get("error") or {}
        raise UsageError(f"triage could not read the input: {error.get('message', 'unknown error')}")
    return done.stdout, report, done.stderr


def lldb_stacks(target, process):
    """Every thread's frames as a `minidump-stackwalk --json` document."""
    arch = target.GetTriple().split("-")[0]
    cpu = CPU_ARCH.get(arch, arch)
    threads = [{"thread_id": thread.GetThreadID(),
                "frames": thread_frames(target, thread, CALL_LENGTH.get(cpu, 1))}
               for thread in process]
    crashed = [index for index, thread in enumerate(process)
               if thread.GetStopReason() not in (lldb.eStopReasonNone, lldb.eStopReasonInvalid)]
    return {"system_info": {"cpu_arch": cpu},
            "crash_info": {"crashing_thread": crashed[0] if crashed else None},
            "threads": threads}


def thread_frames(target, thread, call_length):
    """One thread's frames, innermost first; inlined calls go into their caller's `inlines`."""
    frames, inlines = [], []
    for frame in thread:
        if frame.IsInlined():
            inlines.append({"function": frame.GetFunctionName(), **source(frame)})
            continue
        # The first frame is where the thread stopped; callers are return addresses, which
        # minidump-stackwalk reports call_length earlier.
        address = frame.GetPC() - (call_length if frames else 0)
        module = frame.GetModule()
        base = module.GetObjectFileHeaderAddress().GetLoadAddress(target)
        start = function_start(target, frame)
        frames.append({
            "module": module.GetFileSpec().GetFilename(),
            "function": frame.GetFunctionName(),
            "function_offset": hex(address - start) if start is not None else None,
            "module_offset": hex(address - base) if base != lldb.LLDB_INVALID_ADDRESS else None,
            "offset": hex(address),
            # LLDB unwound the callers itself but does not say how: "none" in
            # minidump-stackwalk's words. Left out, triage would take them for a pasted
            # text stack, whose unnamed frames are never evidence of a known issue.
            "trust": "context" if not frames else "none",
            "inlines": inlines or None,
            **source(frame),
        })
        inlines = []
    return frames


def function_start(target, frame):
    """Load address where the frame's function (or symbol) starts, or None when unnamed."""
    for owner in (frame.GetFunction(), frame.GetSymbol()):
        if owner.IsValid():
            start = owner.GetStartAddress().GetLoadAddress(target)
            if start != lldb.LLDB_INVALID_ADDRESS:
                return start
    return None


def source(frame):
    """`file` and `line` of the frame when LLDB has line tables for it."""
    entry = frame.GetLineEntry()
    if not entry.IsValid() or not entry.GetFileSpec().GetFilename():
        return {}
    return {"file": entry.GetFileSpec().GetFilename(), "line": entry.GetLine()}


def format_report(report, process):
    """Findings and the exploitability rating first, then every thread in LLDB's `bt all`
    style."""
    lines = []
    for finding in report.get("findings", []):
        fix = {True: "installed", False: "not installed",
               None: "unknown (no module version to compare)"}[finding.get("fix_installed")]
        if finding.get("fixed_in"):
            fix = f"{finding['fixed_in']['module']} {finding['fixed_in']['version']} {fix}"
        lines += [f"known issue {finding['rule']} ({finding['confidence']}) on thread "
                  f"{describe_thread(finding['thread_id'], process)}: {finding['title']}",
                  f"  fix: {fix}",
                  f"  advice: {finding['advice']}"]
    if not report.get("findings"):
        lines.append("known issues: none")
    rated = report.get("exploitability")
    if rated:
        # Only a walked dump has it: LLDB's frames come with no exception record or memory.
        lines.append(f"exploitability: {rated['rating']} ({rated['reason']})")
    if report.get("status") == "partial":
        lines.append(f"warning: the dump was read only in part: {report['error']['message']}")
    lines.append("")
    width = 2 * (process.GetAddressByteSize() or 4)
    for position, thread in enumerate(report.get("threads", []), start=1):
        tid = thread.get("thread_id")
        number = lldb_thread_number(tid, process) or position
        header = f"thread #{number}: tid = {tid:#x}" if tid is not None else f"thread #{number}"
        lines.append(("* " if thread.get("crashed") else "  ") + header
                     + (", crashed" if thread.get("crashed") else ""))
        for frame in thread.get("frames", []):
            lines.append(f"    frame #{frame['index']}: {format_frame(frame, width)}")
    return "\n".join(lines)


def describe_thread(tid, process):
    """`1240 (#3)`: the OS thread id and, when LLDB knows it, LLDB's thread number."""
    number = lldb_thread_number(tid, process)
    return f"{tid} (#{number})" if number else str(tid)


def lldb_thread_number(tid, process):
    """LLDB's `thread #N` for an OS thread id, or None."""
    thread = process.GetThreadByID(tid) if tid is not None else None
    return thread.GetIndexID() if thread and thread.IsValid() else None


def format_frame(frame, width):
    """`0x77f63eb0 ntdll.dll`RtlpFindAndCommitPages + 222 at file.c:12`, as LLDB prints frames."""
    address = int(frame["address"], 16) if frame.get("address") else 0
    text = f"0x{address:0{width}x}"
    if frame.get("module"):
        text += f" {frame['module']}"
        if frame.get("function"):
            text += f"`{frame['function']}"
            if frame.get("offset"):
                text += f" + {int(frame['offset'], 16)}"
    elif frame.get("function"):
        text += f" {frame['function']}"
    if frame.get("source"):
        text += f" at {frame['source']}"
    return text


def triage_report(options, target, process):
    """Runs triage the chosen way; returns what `run_triage` returns."""
    rules = [arg for path in options.rules for arg in ("--rules", path)]
    if options.walk:
        core = process.GetCoreFile()
        if not core.IsValid() or not core.fullpath:
            raise UsageError("--walk needs a dump: open one with `target create --core FILE`")
        symbols = [arg for path in options.symbols for arg in ("--symbols", path)]
        return run_triage(["dump", core.fullpath, "--format", "json", *symbols, *rules])
    if options.symbols:
        raise UsageError("--symbols needs --walk: without it LLDB's own symbols name the frames")
    stacks = json.dumps(lldb_stacks(target, process))
    return run_triage(["stacks", "-", "--format", "json", *rules], stdin=stacks)


def triage_command(debugger, command, exe_ctx, result, internal_dict):
    """Name known issues in the process or dump LLDB has open. `triage --help` for usage."""
    parser = make_parser()
    try:
        options = parser.parse_args(shlex.split(command))
        if options.help:
            result.AppendMessage(parser.format_help())
            return
        target, process = exe_ctx.GetTarget(), exe_ctx.GetProcess()
        if not process.IsValid():
            raise UsageError("no process: open a dump first with `target create --core FILE`")
        text, report, warnings = triage_report(options, target, process)
        for warning in warnings.splitlines():
            result.AppendWarning(warning)
        result.AppendMessage(text.rstrip() if options.json else format_report(report, process))
    except UsageError as error:
        result.SetError(f"triage: {error}")


def __lldb_init_module(debugger, internal_dict):
    """Registers the `triage` command when the script is imported."""
    debugger.HandleCommand(f"command script add -o -f {__name__}.triage_command triage")
