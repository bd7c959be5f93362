//! `triage completions SHELL` and `triage man [COMMAND]...`: scripts and pages generated from
//! the clap definitions, checked against the commands `triage --help` lists.
//!
//! The bash script is parsed by `bash -n` and then completes real command lines in bash; the
//! man pages are rendered by `groff` when it is installed (CI installs it and sets
//! `TRIAGE_REQUIRE_GROFF=1`).

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::common::{self, triage};

fn stdout(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

/// The commands `triage PATH... --help` lists, `help` aside.
fn listed_commands(path: &[&str]) -> Vec<String> {
    let help = stdout(&triage(&[path, &["--help"]].concat()));
    let Some((_, after)) = help.split_once("\nCommands:\n") else {
        return Vec::new();
    };
    after
        .lines()
        .take_while(|line| line.starts_with("  "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|&name| name != "help")
        .map(String::from)
        .collect()
}

/// Every command, as the names after `triage`: `["dump"]`, `["rules", "show"]`, ...
fn all_commands() -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let mut pending = vec![Vec::<String>::new()];
    while let Some(path) = pending.pop() {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        for name in listed_commands(&args) {
            let sub = [path.clone(), vec![name]].concat();
            pending.push(sub.clone());
            found.push(sub);
        }
    }
    found.sort();
    found
}

#[test]
fn help_lists_the_commands_the_tests_walk() {
    let commands = all_commands();
    for expected in [&["dump"][..], &["completions"], &["man"], &["rules", "import-kb"]] {
        assert!(
            commands.iter().any(|c| c == expected),
            "{expected:?} not in {commands:?}"
        );
    }
}

/// Runs `script` in bash after sourcing the completion script, and returns what it printed.
fn in_bash_with_completions(script: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let completions = dir.path().join("triage.bash");
    std::fs::write(
        &completions,
        stdout(&triage(&["completions", "bash"])).as_bytes(),
    )
    .unwrap();
    let mut bash = Command::new("bash")
        .arg("--norc")
        .arg("-s")
        .arg(&completions)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash runs");
    let program = format!(
        r#"set -u
source "$1"
# Completes the words given, plus an empty word being typed, as bash does on TAB.
complete_line() {{
    COMP_WORDS=(triage "$@" "")
    COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
    COMP_LINE="${{COMP_WORDS[*]}}"
    COMP_POINT=${{#COMP_LINE}}
    COMPREPLY=()
    _triage triage "" "${{COMP_WORDS[COMP_CWORD - 1]}}"
    printf '%s\n' "${{COMPREPLY[@]}}"
}}
{script}
"#
    );
    bash.stdin
        .take()
        .unwrap()
        .write_all(program.as_bytes())
        .unwrap();
    let output = bash.wait_with_output().unwrap();
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "bash: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn bash_script_parses_and_completes_every_command() {
    let script = stdout(&triage(&["completions", "bash"]));
    assert!(script.starts_with("_triage() {"), "{script}");
    assert!(
        script
            .lines()
            .any(|line| line.trim_start().starts_with("complete -F _triage ")
                && line.ends_with(" triage")),
        "the script does not register _triage for triage: {script}"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("triage.bash");
    std::fs::write(&file, &script).unwrap();
    let check = Command::new("bash").arg("-n").arg(&file).output().unwrap();
    assert!(
        check.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&check.stderr)
    );

    // Each command with subcommands completes to all of them.
    let commands = all_commands();
    let mut parents: Vec<Vec<String>> = vec![Vec::new()];
    parents.extend(commands.iter().filter(|c| c.len() == 1).cloned());
    for parent in parents {
        let children: Vec<&String> = commands
            .iter()
            .filter(|c| c.len() == parent.len() + 1 && c.starts_with(&parent))
            .map(|c| c.last().unwrap())
            .collect();
        if children.is_empty() {
            continue;
        }
        let offered = in_bash_with_completions(&format!("complete_line {}", parent.join(" ")));
        let offered: Vec<&str> = offered.lines().collect();
        for child in children {
            assert!(
                offered.contains(&child.as_str()),
                "`triage {} <TAB>` does not offer {child}: {offered:?}",
                parent.join(" ")
            );
        }
    }

    // Values, from the value enums.
    let shells = in_bash_with_completions("complete_line completions");
    for shell in ["bash", "zsh", "fish", "powershell"] {
        assert!(shells.lines().any(|l| l == shell), "{shell}: {shells}");
    }
    let formats = in_bash_with_completions("complete_line dump q269588.dmp --format");
    let formats: Vec<&str> = formats.lines().collect();
    assert_eq!(formats, ["json", "text", "kb"]);
}

#[test]
fn every_shell_gets_a_script_that_names_every_command() {
    let commands = all_commands();
    for (shell, marker) in [
        ("bash", "complete -F _triage"),
        ("zsh", "#compdef triage"),
        ("fish", "complete -c triage"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer[triage]"),
    ] {
        let script = stdout(&triage(&["completions", shell]));
        assert!(script.contains(marker), "{shell}: no {marker:?}");
        for command in &commands {
            let name = command.last().unwrap();
            assert!(script.contains(name.as_str()), "{shell}: no {command:?}");
        }
    }
    let unknown = triage(&["completions", "tcsh"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("possible values"));
}

/// The page of `triage PATH...`, checked for its title and the usual sections.
fn man_page(path: &[String]) -> String {
    let args: Vec<&str> = path.iter().map(String::as_str).collect();
    let page = stdout(&triage(&[&["man"][..], &args].concat()));
    let macros: Vec<&str> = page
        .lines()
        .filter(|line| line.starts_with('.'))
        // The roff crate's preamble, defining the apostrophe string.
        .filter(|line| !line.starts_with(".ie ") && !line.starts_with(".el "))
        .collect();
    let name = ["triage"]
        .into_iter()
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join("-");
    assert!(
        macros[0].starts_with(&format!(".TH {name} 1 ")),
        "{path:?}: the page starts with {:?}",
        macros[0]
    );
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION"] {
        assert!(macros.contains(&section), "{path:?}: no {section}");
    }
    page
}

#[test]
fn man_pages_exist_for_every_command_and_each_lists_its_subcommands() {
    let commands = all_commands();
    let mut pages = vec![Vec::new()];
    pages.extend(commands.iter().cloned());
    for path in &pages {
        let page = man_page(path);
        let children: Vec<&Vec<String>> = commands
            .iter()
            .filter(|c| c.len() == path.len() + 1 && c.starts_with(path))
            .collect();
        if children.is_empty() {
            assert!(!page.contains(".SH SUBCOMMANDS"), "{path:?}");
            continue;
        }
        let (_, section) = page
            .split_once(".SH SUBCOMMANDS\n")
            .unwrap_or_else(|| panic!("{path:?}: no SUBCOMMANDS section"));
        let section = section.split("\n.SH ").next().unwrap();
        for child in children {
            // roff escapes the dashes of the page names.
            let reference = format!("triage-{}(1)", child.join("-")).replace('-', "\\-");
            assert!(section.contains(&reference), "{path:?}: no {reference}");
        }
        assert!(!section.contains("triage\\-help"), "{path:?}: lists help");
    }
    let dump = man_page(&["dump".to_string()]);
    assert!(dump.contains(".SH OPTIONS") && dump.contains("\\-\\-symbols"));

    let unknown = triage(&["man", "rules", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(stderr.contains("no command `triage rules nope`"), "{stderr}");
}

#[test]
fn groff_renders_every_man_page_without_warnings() {
    let Some(groff) = common::external_tool("groff", "TRIAGE_REQUIRE_GROFF") else {
        return;
    };
    let mut pages = vec![Vec::new()];
    pages.extend(all_commands());
    for path in pages {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        let page = stdout(&triage(&[&["man"][..], &args].concat()));
        let output = common::run_with_stdin(&groff, &["-man", "-Tutf8", "-ww", "-P-cbou"], &page);
        let warnings = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() && warnings.is_empty(),
            "{path:?}: {warnings}"
        );
        let text = String::from_utf8_lossy(&output.stdout);
        if path == ["dump"] {
            assert!(text.contains("\n       --symbols <PATH>\n"), "{text}");
        }
    }
}
