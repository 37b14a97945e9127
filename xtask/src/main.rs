//! `cargo xtask`: see the `xtask` library docs.

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  contracts [--check]
                     check the pinned vendor files (contracts/*/manifest.json) and extract
                     each provider's PAT subset to contracts/*/openapi.json
  api [--check]      write crates/*/public-api.txt, the public API of each library crate
                     (rustdoc JSON of the pinned nightly), and check the external crates in
                     it against an allow-list; with --check, fail if a file is stale
  codegen [--check]  contracts, then generate crates/*/src/generated.rs from the subsets;
                     with --check, write nothing and fail if any file is stale or missing
  test               installs what it needs (rustfmt, clippy, the pinned nightly and
                     cargo-deny), then fmt, clippy, codegen --check, cargo-deny, the `pats`
                     feature matrix, docs, packages, each publishable crate's tests alone,
                     the conformance suite, all tests with all features; times each step
  ci                 the same as `test`, with --locked
  fresh [--keep]     `bash .ci/run` in a clean clone of HEAD with an empty CARGO_HOME (a
                     fresh machine's run); prints how long it took
  mutants [--file F]...
                     cargo-mutants (pinned, installed if missing) on the critical files
                     (or F) with each crate's own tests; a summary line per file; fails
                     below 90 % of viable mutants caught
  bench [--quick] [--build-cost] [--peers] [--section N]...
                     benchmarks (release build): SDK overhead against raw HTTP, signing,
                     token caching, large lists, build cost; --peers also against the
                     gitlab crate (built from crates.io); writes target/bench/results.*
  msrv               check every publishable crate, with each feature set, with the
                     workspace's rust-version (installed with rustup if missing)
  interop [--keep] [--work-dir DIR] [--only NAME]... [--exports FILE]
                     install the official Python and Node SDKs (pinned under interop/) in a
                     throw-away directory and run their PAT lifecycles against pats-sim serve;
                     needs python3, node and npm (not part of `test`); --exports FILE uses a
                     running emulator (`pats-sim env --port N > FILE`) instead
  release-check      check what `cargo publish` needs (metadata, licence files, readmes,
                     versions of path dependencies, a CHANGELOG section), package the
                     publishable crates and list them in publish order with size and files";

fn main() -> ExitCode {
    let mut args = Vec::new();
    for arg in std::env::args_os().skip(1) {
        match arg.into_string() {
            Ok(arg) => args.push(arg),
            Err(arg) => return usage_error(&format!("invalid argument {arg:?}")),
        }
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let root = match xtask::workspace_root() {
        Ok(root) => root,
        Err(e) => return failure(&e),
    };
    let result = match args.as_slice() {
        [] => return usage_error("missing command"),
        ["-h" | "--help" | "help", ..] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        ["api"] => xtask::api::run(&root, false),
        ["api", "--check"] => xtask::api::run(&root, true),
        ["codegen"] => xtask::codegen::run(&root, false),
        ["codegen", "--check"] => xtask::codegen::run(&root, true),
        ["contracts"] => xtask::contracts::run(&root, false),
        ["contracts", "--check"] => xtask::contracts::run(&root, true),
        ["test"] => xtask::tasks::run(&root, xtask::tasks::Mode::Test),
        ["ci"] => xtask::tasks::run(&root, xtask::tasks::Mode::Ci),
        ["bench", rest @ ..] => xtask::bench::run(&root, rest),
        ["msrv"] => xtask::msrv::run(&root),
        ["fresh", rest @ ..] => xtask::fresh::run(&root, rest),
        ["mutants", rest @ ..] => xtask::mutants::run(&root, rest),
        ["interop", rest @ ..] => xtask::interop::run(&root, rest),
        ["release-check"] => xtask::release::run(&root),
        [command, ..]
            if [
                "codegen",
                "contracts",
                "test",
                "ci",
                "msrv",
                "release-check",
            ]
            .contains(command) =>
        {
            return usage_error(&format!("unexpected arguments for `{command}`"));
        }
        [command, ..] => return usage_error(&format!("unknown command `{command}`")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => failure(&e),
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("error: {message}\n\n{USAGE}");
    ExitCode::from(2)
}

fn failure(error: &xtask::Error) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::FAILURE
}
