//! `pats-bench`: runs the benchmarks (see the library docs) and writes
//! `target/bench/results.md` and `results.json`.

use std::process::ExitCode;

const USAGE: &str = "\
usage: pats-bench [--quick] [--build-cost] [--peers] [--section N]... [--criterion DIR] [--since SECS]

  --quick          sections 3 to 6 once, small sizes (test mode; figures mean nothing)
  --build-cost     also time a clean release build of `pats` per provider feature (slow)
  --peers          also measure `pats` against the `gitlab` crate on GitLab's calls (section 1;
                   builds a generated project from crates.io under target/bench/peers/)
  --section N      run only section N (1 to 7; repeat for more)
  --criterion DIR  where criterion wrote sections 1 and 2 (default target/criterion)
  --since SECS     refuse criterion results written before this Unix time

Sections 1 and 2 are read from criterion's results: run
`cargo bench -p pats-bench --bench calls` first (`cargo xtask bench` does both).

Writes target/bench/results.md and .json (results-partial.* for --quick or --section).";

fn main() -> ExitCode {
    let mut options = pats_bench::Options::full();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--section" => match args.next().and_then(|n| n.parse::<usize>().ok()) {
                Some(n @ 1..=7) => options.sections.push(n),
                _ => {
                    eprintln!("error: --section needs a number from 1 to 7\n\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--criterion" => match args.next() {
                Some(dir) => options.criterion = dir.into(),
                None => {
                    eprintln!("error: --criterion needs a directory\n\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--since" => match args.next().and_then(|n| n.parse::<u64>().ok()) {
                Some(secs) => {
                    options.since =
                        Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs));
                }
                None => {
                    eprintln!("error: --since needs a Unix time in seconds\n\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--quick" | "--test" => options.quick = true,
            "--build-cost" => options.build_times = true,
            "--peers" => options.peers = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("error: unknown argument `{other}`\n\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let report = match pats_bench::run(&options) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", report.markdown());
    // A run of some sections (or a quick one) does not replace the full results.
    let name = if options.sections.is_empty() && !options.quick {
        "results"
    } else {
        "results-partial"
    };
    match pats_bench::write(&report, &options.target, name) {
        Ok((md, json)) => println!("written: {} and {}", md.display(), json.display()),
        Err(e) => {
            eprintln!("error: cannot write the results: {e}");
            return ExitCode::FAILURE;
        }
    }
    let missed = report.failures();
    if missed.is_empty() {
        println!("every goal met");
    } else {
        println!("{} goal(s) missed:", missed.len());
        for row in missed {
            println!("  {}: {}", row.name, row.shortfall());
        }
    }
    ExitCode::SUCCESS
}
