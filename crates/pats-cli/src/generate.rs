//! `pats completions SHELL` and `pats man [--dir DIR]`: shell completion scripts and manual
//! pages generated from the command line's own clap definitions, so they cannot drift from
//! it.

use crate::cli::Cli;
use crate::error::{CliError, Exit, one_line};
use crate::output::out;
use clap::CommandFactory;
use clap_complete::Shell;
use std::path::{Path, PathBuf};

/// The completion script of `shell` for `pats`.
pub fn completion_script(shell: Shell) -> Vec<u8> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "pats", &mut script);
    script
}

/// The manual page `pats(1)`, in roff.
pub fn man_page() -> Result<Vec<u8>, CliError> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .map_err(|e| CliError::failed(format!("cannot render the manual page: {e}")))?;
    Ok(page)
}

/// Writes `pats.1` and one page per subcommand (`pats-list.1`, `pats-sim-serve.1`, …) into
/// `dir`, creating it; returns the files written, parents before their subcommands.
pub fn man_pages(dir: &Path) -> Result<Vec<PathBuf>, CliError> {
    let cant = |what: &Path, e: std::io::Error| {
        CliError::failed(format!(
            "cannot write the manual pages to {}: {}",
            what.display(),
            one_line(&e.to_string())
        ))
    };
    std::fs::create_dir_all(dir).map_err(|e| cant(dir, e))?;
    // Building fills in each subcommand's display name (`pats-list`), which names its page.
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut written = Vec::new();
    let mut pending = vec![cmd];
    while let Some(cmd) = pending.pop() {
        let man = clap_mangen::Man::new(cmd.clone());
        let path = dir.join(man.get_filename());
        let mut page = Vec::new();
        man.render(&mut page).map_err(|e| cant(&path, e))?;
        std::fs::write(&path, page).map_err(|e| cant(&path, e))?;
        written.push(path);
        let mut subcommands: Vec<_> = cmd
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .cloned()
            .collect();
        subcommands.reverse();
        pending.extend(subcommands);
    }
    Ok(written)
}

/// `pats completions SHELL`: the script on stdout.
pub fn completions(shell: Shell) -> Result<Exit, CliError> {
    out!("{}", String::from_utf8_lossy(&completion_script(shell)));
    Ok(Exit::Ok)
}

/// `pats man [--dir DIR]`: `pats(1)` on stdout, or every page into DIR (their paths on
/// stdout).
pub fn man(dir: Option<&Path>) -> Result<Exit, CliError> {
    match dir {
        None => out!("{}", String::from_utf8_lossy(&man_page()?)),
        Some(dir) => {
            for path in man_pages(dir)? {
                out!(
                    "{}\n",
                    crate::output::printable(&path.display().to_string())
                );
            }
        }
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_that_names_the_subcommands() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::PowerShell] {
            let script = String::from_utf8_lossy(&completion_script(shell)).into_owned();
            for sub in [
                "list",
                "create",
                "revoke",
                "rotate",
                "audit",
                "completions",
                "man",
            ] {
                assert!(script.contains(sub), "{shell}: no `{sub}` in\n{script}");
            }
        }
    }

    #[test]
    fn the_man_page_documents_options_and_exit_codes() {
        let page = String::from_utf8_lossy(&man_page().unwrap_or_default()).into_owned();
        assert!(page.contains(".TH pats 1"), "{page}");
        assert!(page.contains("\\-\\-simulate"), "{page}");
        // The after-help (configuration, exit codes) is part of the page.
        assert!(page.contains("Exit codes"), "{page}");
    }
}
