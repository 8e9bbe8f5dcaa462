//! The command line: parse, dispatch, map errors to exit code 2.

use crate::commands::{self, EXIT_ERROR};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "leakscope",
    version,
    about = "Finds GitHub and Anaconda access tokens before they leak, cleans up after they did, and lints token hygiene."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan a working tree, git history (--git) or the staged change (--staged) for tokens.
    Scan(Box<commands::scan::ScanArgs>),
    /// Ask each token's provider whether it is live, whose it is and what it can do.
    Verify(commands::verify::VerifyArgs),
    /// Revoke live leaked tokens through their provider's API (asks first).
    Revoke(commands::revoke::RevokeArgs),
    /// Lint token hygiene: over-scoped requests, tokens without expiry, tokens in files.
    Lint(commands::lint::LintArgs),
    /// List or check token rules.
    Rules(commands::rules::RulesArgs),
    /// Install leakscope as a git pre-commit hook.
    Hook(commands::hook::HookArgs),
    /// Print the JSON Schema of the JSON report (`scan`, `verify --format json`).
    Schema,
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() { EXIT_ERROR } else { 0 };
            let _ = err.print();
            return code;
        }
    };
    let result = match cli.command {
        Command::Scan(args) => commands::scan::run(*args),
        Command::Verify(args) => commands::verify::run(args),
        Command::Revoke(args) => commands::revoke::run(args),
        Command::Lint(args) => commands::lint::run(args),
        Command::Rules(args) => commands::rules::run(args),
        Command::Hook(args) => commands::hook::run(args),
        Command::Schema => commands::schema::run(),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("leakscope: error: {err:#}");
            EXIT_ERROR
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
