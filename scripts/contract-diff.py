#!/usr/bin/env python3
"""Compares two contract snapshots (scripts/contract-snapshot.sh) report by report and
prints every difference, classifying the ones the schema-2 change allows: a "" that became
null, and the new schema_version. Exit 1 when any other difference is found."""
import json
import sys
from pathlib import Path


def walk(before, after, path, out):
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            if key not in after:
                out.append(("removed", path + "." + key, before[key], None))
            elif key not in before:
                out.append(("added", path + "." + key, None, after[key]))
            else:
                walk(before[key], after[key], path + "." + key, out)
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for i, (b, a) in enumerate(zip(before, after)):
            walk(b, a, f"{path}[{i}]", out)
    elif before != after:
        out.append(("changed", path, before, after))


def allowed(kind, path, before, after):
    if kind == "added" and path == ".schema_version" and after == 2:
        return "schema_version"
    if kind == "changed" and before == "" and after is None:
        return "empty_to_null"
    return None


def main():
    old, new = Path(sys.argv[1]), Path(sys.argv[2])
    counts, unexpected = {}, []
    before_names = {p.name for p in old.glob("*.json")}
    after_names = {p.name for p in new.glob("*.json")}
    names = sorted(before_names & after_names)
    for name in sorted(before_names ^ after_names):
        unexpected.append((name, "only in one snapshot", ""))
    for name in names:
        try:
            before = json.loads((old / name).read_text())
            after = json.loads((new / name).read_text())
        except (OSError, ValueError) as error:
            unexpected.append((name, "unreadable", str(error)))
            continue
        diffs = []
        walk(before, after, "", diffs)
        for kind, path, b, a in diffs:
            verdict = allowed(kind, path, b, a)
            if verdict:
                counts[verdict] = counts.get(verdict, 0) + 1
            else:
                unexpected.append((name, path, f"{kind}: {b!r} -> {a!r}"))
    print(f"{len(names)} reports compared; allowed differences: {counts}")
    for entry in unexpected[:50]:
        print("UNEXPECTED", *entry)
    print(f"{len(unexpected)} unexpected differences")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
