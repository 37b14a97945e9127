//! The `pats-sim` command: the emulator as a standalone server (see `pats_sim::cli`).

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{}", pats_sim::cli::USAGE);
        return ExitCode::SUCCESS;
    }
    let command = match pats_sim::cli::parse(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("pats-sim: {e}\n\n{}", pats_sim::cli::USAGE);
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pats-sim: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    match runtime.block_on(pats_sim::cli::run(command, &mut stdout)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pats-sim: {e}");
            ExitCode::FAILURE
        }
    }
}
