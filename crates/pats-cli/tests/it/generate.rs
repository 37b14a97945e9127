//! `pats completions` and `pats man`: the generated script completes in a real bash, and the
//! manual pages render with the system's man tools.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;
use std::path::Path;

fn pats() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pats"));
    cmd.env_clear();
    cmd
}

fn stdout_of(args: &[&str]) -> String {
    let out = pats().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// What bash's completion offers for `words` (the last one being completed), with the script
/// `pats completions bash` printed loaded: the function is called as bash calls it (command,
/// word, previous word).
fn bash_completes(script: &Path, words: &[&str]) -> Vec<String> {
    let line = format!(
        "source {script}; COMP_WORDS=({words}); COMP_CWORD={cword}; COMP_LINE='{line}'; \
         COMP_POINT=${{#COMP_LINE}}; \
         _pats pats \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script = script.display(),
        words = words
            .iter()
            .map(|w| format!("'{w}'"))
            .collect::<Vec<_>>()
            .join(" "),
        cword = words.len() - 1,
        line = words.join(" "),
    );
    let out = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &line])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completes_subcommands_and_their_options() {
    if std::process::Command::new("bash")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("no bash on this machine; skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("pats.bash");
    std::fs::write(&script, stdout_of(&["completions", "bash"])).unwrap();

    let subcommands = bash_completes(&script, &["pats", "au"]);
    assert_eq!(subcommands, ["audit"]);
    let options = bash_completes(&script, &["pats", "audit", "--exp"]);
    assert_eq!(options, ["--expiring-within"]);
    let shells = bash_completes(&script, &["pats", "completions", "p"]);
    assert_eq!(shells, ["powershell"]);
}

#[test]
fn every_shell_named_in_the_help_gets_a_script() {
    for (shell, marker) in [
        ("zsh", "#compdef pats"),
        ("fish", "complete -c pats"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer[pats]"),
    ] {
        let script = stdout_of(&["completions", shell]);
        assert!(script.contains(marker), "{shell}: no `{marker}`:\n{script}");
        assert!(script.contains("rotate"), "{shell}:\n{script}");
    }
    let out = pats().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("tcsh") && stderr.contains("bash"),
        "{stderr}"
    );
}

#[test]
fn the_man_page_renders_with_the_commands_and_exit_codes() {
    let page = stdout_of(&["man"]);
    assert!(page.contains(".TH pats 1"), "{page}");
    let Ok(rendered) = std::process::Command::new("groff")
        .args(["-man", "-Tutf8", "-P", "-c"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child
                .stdin
                .take()
                .expect("piped stdin")
                .write_all(page.as_bytes())?;
            child.wait_with_output()
        })
    else {
        eprintln!("no groff on this machine; only the roff was checked");
        return;
    };
    let text = String::from_utf8_lossy(&rendered.stdout);
    // groff's own hyphen; what a reader sees.
    let text = text.replace('\u{2010}', "-");
    for expected in [
        "NAME",
        "pats - List, create",
        "--simulate",
        "Exit codes:",
        "completions",
    ] {
        assert!(text.contains(expected), "no `{expected}` in\n{text}");
    }
}

#[test]
fn man_dir_writes_one_page_per_command_and_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("man1");
    let listed = stdout_of(&["man", "--dir", out_dir.to_str().unwrap()]);
    let listed: Vec<&str> = listed.lines().collect();
    let mut files: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    for page in [
        "pats.1",
        "pats-audit.1",
        "pats-sim.1",
        "pats-sim-serve.1",
        "pats-man.1",
    ] {
        assert!(files.iter().any(|f| f == page), "no {page} in {files:?}");
    }
    assert_eq!(listed.len(), files.len(), "{listed:?}");
    assert_eq!(listed[0], out_dir.join("pats.1").to_str().unwrap());
    let serve = std::fs::read_to_string(out_dir.join("pats-sim-serve.1")).unwrap();
    assert!(serve.contains("\\-\\-state"), "{serve}");

    // A path that cannot be a directory: a clear error, exit 1.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let out = pats()
        .args(["man", "--dir", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("pats: error: cannot write the manual pages to"),
        "{stderr}"
    );
}
