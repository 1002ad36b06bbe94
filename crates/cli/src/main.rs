//! `throughline`: one binary for the server, the demo, and every operation from a terminal.

mod cli;
mod commands;
mod output;
mod session;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

/// Imports allocate rows on one thread and free them on another, by the million: glibc's
/// allocator spent a third of the layout thread's time on that, mimalloc a fraction.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("THROUGHLINE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=error,tower_http=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let result = match cli.command {
        Command::Serve(args) => commands::serve::run(args).await,
        Command::Healthcheck { url } => commands::healthcheck::run(&url).await,
        Command::Migrate(db) => commands::admin::migrate(&db).await,
        Command::Demo(args) => commands::demo::run(args).await,
        Command::User(cmd) => commands::admin::user(cmd).await,
        Command::Team(cmd) => commands::admin::team(cmd).await,
        Command::Token(cmd) => commands::admin::token(cmd).await,
        Command::Pipeline(cmd) => commands::pipeline::run(cmd).await,
        Command::Deal(cmd) => commands::deal::run(cmd).await,
        Command::Lead(cmd) => commands::lead::run(cmd).await,
        Command::Report(cmd) => commands::report::run(cmd).await,
        Command::Import(args) => commands::import::run(args).await,
        Command::Export(args) => commands::export::run(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", session::describe(&err));
            ExitCode::FAILURE
        }
    }
}
