//! The `plusflow` binary: parse the command line and run the chosen command.

// async-graphql's resolvers nest deeper than the default limit of 128 when the schema is laid
// out for this binary (release builds).
#![recursion_limit = "256"]

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: the system allocator's malloc, free and consolidation were about a tenth of the
/// machine in `bench payments` (requests, JSON, rows and HTTP bodies: many small short-lived
/// allocations over the runtime's threads); with mimalloc the process used 5-10% less CPU per
/// payment in alternating runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = plusflow::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(plusflow::cli::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
