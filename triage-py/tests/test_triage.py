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


def cli_json(*args):
    """The report `triage ARGS... --format json` prints."""
    cli = Path(os.environ.get("TRIAGE_CLI", REPO / "target/debug/triage"))
    if not cli.exists():
        pytest.skip(f"no triage binary at {cli}; set TRIAGE_CLI")
    printed = subprocess.run(
        [cli, *args, "--format", "json"],
        capture_output=True,
        check=True,
        env={**os.environ, "_NT_SYMBOL_PATH": ""},
    ).stdout
    return json.loads(printed)


def test_dump_is_the_cli_json_report():
    printed = cli_json("dump", EXAMPLE_DUMP, "--symbols", EXAMPLE_SYMBOLS)

    assert triage.dump(EXAMPLE_DUMP, symbols=[EXAMPLE_SYMBOLS]) == printed


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


# A site rule the seed article's stack almost matches: its middle frame is not there.
NEAR_RULE = (
    '[[rule]]\nid = "SITE-NEAR"\ntitle = "almost the MTA stack"\n'
    'frames = ["MAPI32!MAPIAllocateBuffer", "EMSMTA!HrNotInTheStack", "EMSMTA!HrTrackWriteLogA"]\n'
)


def test_signature_lists_steer_the_signature(tmp_path):
    lists = tmp_path / "skip.toml"
    lists.write_text('skip = ["emsmta!HrStrAToStrW"]\n')

    before = triage.dump(EXAMPLE_DUMP, symbols=[EXAMPLE_SYMBOLS])
    after = triage.dump(EXAMPLE_DUMP, symbols=[EXAMPLE_SYMBOLS], signature_lists=[lists])

    assert before["signature"].startswith("HrStrAToStrW")
    assert after["signature"].startswith("HrTrackWriteLogA")
    assert after["blame"]["function"] == "HrTrackWriteLogA"
    assert after["class"] == before["class"]


def test_explain_adds_near_misses_only_when_asked(tmp_path):
    rule_file = tmp_path / "near.toml"
    rule_file.write_text(NEAR_RULE)
    text = SEED_ARTICLE.read_text()

    plain = triage.stacks(text, rules=[rule_file])
    explained = triage.stacks(text, rules=[rule_file], explain=True)

    assert "near_misses" not in plain
    [miss] = explained["near_misses"]
    assert miss["rule"] == "SITE-NEAR"
    assert (miss["matched"], miss["total"]) == (2, 3)
    assert miss["missing"][0].startswith("missing EMSMTA!HrNotInTheStack")
    assert [f["rule"] for f in explained["findings"]] == ["Q269588"]


def test_lists_rules_and_explain_give_the_cli_json_report(tmp_path):
    lists = tmp_path / "skip.toml"
    lists.write_text('skip = ["emsmta!HrStrAToStrW"]\n')
    rule_file = tmp_path / "near.toml"
    rule_file.write_text(NEAR_RULE)
    options = ["--signature-lists", lists, "--rules", rule_file, "--explain"]

    printed_dump = cli_json("dump", EXAMPLE_DUMP, "--symbols", EXAMPLE_SYMBOLS, *options)
    printed_stacks = cli_json("stacks", SEED_ARTICLE, *options)

    assert printed_dump["near_misses"] and printed_stacks["near_misses"]
    assert (
        triage.dump(
            EXAMPLE_DUMP,
            symbols=[EXAMPLE_SYMBOLS],
            rules=[rule_file],
            signature_lists=[lists],
            explain=True,
        )
        == printed_dump
    )
    assert (
        triage.stacks(
            SEED_ARTICLE.read_text(),
            rules=[rule_file],
            name=str(SEED_ARTICLE),
            signature_lists=[lists],
            explain=True,
        )
        == printed_stacks
    )


def test_a_bad_signature_list_raises_value_error_naming_file_and_line(tmp_path):
    lists = tmp_path / "lists.toml"
    lists.write_text('skip = ["ntdll!*"]\nskipp = ["typo!here"]\n')

    with pytest.raises(ValueError, match=r"lists\.toml:2: unknown field `skipp`"):
        triage.stacks("irrelevant", signature_lists=[lists])
    with pytest.raises(ValueError, match=r"lists\.toml:2: unknown field `skipp`"):
        triage.dump(EXAMPLE_DUMP, signature_lists=[lists])


def test_every_bad_data_file_is_named_in_one_value_error(tmp_path):
    rule_file = tmp_path / "bad.toml"
    rule_file.write_text('[[rule]]\nid = "BAD"\ntitle = "bad"\nframes = ["NTDLL"]\n')
    lists = tmp_path / "lists.toml"
    lists.write_text('skipp = ["typo!here"]\n')

    with pytest.raises(ValueError) as raised:
        triage.stacks("irrelevant", rules=[rule_file], signature_lists=[lists])

    lines = str(raised.value).splitlines()
    assert [line.split(": ")[0].rsplit("/", 1)[-1] for line in lines] == [
        "bad.toml:4",
        "lists.toml:1",
    ]


def test_signature_lists_and_explain_are_keyword_only(tmp_path):
    with pytest.raises(TypeError):
        triage.stacks("irrelevant", [], "-", [])
    with pytest.raises(TypeError):
        triage.dump(tmp_path / "missing.dmp", [], [], [], True)
