//! The `pats-sim` command: the emulator as a standalone server.

fn main() {}
