"""The `triage` module on the bundled Q269588 example, the seed KB article, and bad inputs."""

import json
import os
import subprocess
from pathlib import Path

import pytest

import triage

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_DUMP = REPO / "corpus/examples/q269588.dmp"
EXAMPLE_SYMBOLS = REPO / "corpus/examples/symbols"
SEED_ARTICLE = REPO / "../shared/kb/Q269588.txt"


def test_dump_confirms_q269588_without_its_fix():
    report = triage.dump(str(EXAMPLE_DUMP), symbols=[EXAMPLE_SYMBOLS])

    assert report["status"] == "ok"
    assert report["crash"]["thread_id"] == 1240
    [finding] = report["findings"]
    assert finding["rule"] == "Q269588"
    assert finding["confidence"] == "confirmed"
    assert finding["fix_installed"] is False


def test_dump_is_the_cli_json_report():
    cli = Path(os.environ.get("TRIAGE_CLI", REPO / "target/debug/triage"))
    if not cli.exists():
        pytest.skip(f"no triage binary at {cli}; set TRIAGE_CLI")
    printed = subprocess.run(
        [cli, "dump", EXAMPLE_DUMP, "--symbols", EXAMPLE_SYMBOLS, "--format", "json"],
        capture_output=True,
        check=True,
        env={**os.environ, "_NT_SYMBOL_PATH": ""},
    ).stdout

    assert triage.dump(EXAMPLE_DUMP, symbols=[EXAMPLE_SYMBOLS]) == json.loads(printed)


def test_stacks_confirms_q269588_in_the_seed_article_without_versions():
    report = triage.stacks(SEED_ARTICLE.read_text(), name="Q269588.txt")

    assert report["path"] == "Q269588.txt"
    [finding] = report["findings"]
    assert finding["rule"] == "Q269588"
    assert finding["confidence"] == "confirmed"
    assert finding["fix_installed"] is None


def test_reports_speak_schema_2_where_absent_is_null():
    report = triage.stacks(SEED_ARTICLE.read_text(), name="Q269588.txt")

    assert report["schema_version"] == 2
    innermost = report["threads"][0]["frames"][0]
    # The article's rows print a frame's address only in its callee's RetAddr column.
    assert innermost["address"] is None
    assert report["threads"][0]["frames"][1]["address"] == "0x77f640fc"


def test_a_missing_dump_is_an_error_report_not_an_exception(tmp_path):
    report = triage.dump(tmp_path / "missing.dmp")

    assert report["status"] == "error"
    assert report["error"]["kind"] == "io"


def test_user_rules_are_added_to_the_builtin_ones(tmp_path):
    rule_file = tmp_path / "site.toml"
    rule_file.write_text(
        '[[rule]]\nid = "SITE-1"\ntitle = "MAPI allocation in the MTA"\n'
        'frames = ["MAPI32!MAPIAllocateBuffer", "EMSMTA!*"]\n'
    )

    report = triage.dump(EXAMPLE_DUMP, symbols=[EXAMPLE_SYMBOLS], rules=[rule_file])

    assert [f["rule"] for f in report["findings"]] == ["Q269588", "SITE-1"]


def test_a_bad_rule_file_raises_value_error_naming_file_and_line(tmp_path):
    rule_file = tmp_path / "bad.toml"
    rule_file.write_text('[[rule]]\nid = "BAD"\ntitle = "bad"\nframes = ["NTDLL"]\n')

    with pytest.raises(ValueError, match=r"bad\.toml:4: .* is not MODULE!FUNCTION"):
        triage.stacks("irrelevant", rules=[rule_file])
