//! The command line: parse, dispatch, map errors to exit code 2.

use crate::commands::{self, EXIT_CLEAN, EXIT_ERROR};
use clap::{CommandFactory, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "leakscope",
    version,
    about = "Finds GitHub and Anaconda access tokens before they leak, cleans up after they did, and lints token hygiene."
)]
pub struct Cli {
    /// No progress and no notes on stderr (errors are still shown).
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan a working tree, git history (--git), the staged change (--staged) or standard
    /// input (-) for tokens.
    #[command(after_help = commands::scan::EXAMPLES)]
    Scan(Box<commands::scan::ScanArgs>),
    /// Ask each token's provider whether it is live, whose it is and what it can do.
    Verify(commands::verify::VerifyArgs),
    /// Revoke live leaked tokens through their provider's API (asks first).
    Revoke(commands::revoke::RevokeArgs),
    /// Lint token hygiene: over-scoped requests, tokens without expiry, tokens in files.
    #[command(after_help = commands::lint::EXAMPLES)]
    Lint(commands::lint::LintArgs),
    /// List or check token rules.
    Rules(commands::rules::RulesArgs),
    /// The CI gate: scan what this CI event (pull request, push, schedule) adds, with annotations.
    Ci(Box<commands::ci::CiArgs>),
    /// Install leakscope as a git pre-commit hook.
    Hook(commands::hook::HookArgs),
    /// Print a shell completion script (e.g. `leakscope completions bash >
    /// ~/.local/share/bash-completion/completions/leakscope`).
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print a manual page (roff) on standard output: leakscope(1), or with a subcommand
    /// its own page, as git has them (e.g. `leakscope man scan | man -l -`).
    Man {
        /// The subcommand whose page to print (scan, lint, verify, ...).
        subcommand: Option<String>,
    },
    /// Print the JSON Schema of the JSON report (`scan`, `verify --format json`).
    Schema,
    /// Compare two audits: new, fixed, still open and regressed secrets.
    Diff(commands::diff::DiffArgs),
    /// Organisation audits: plan (list repositories), scan one shard, merge shards.
    #[command(after_help = commands::org::EXAMPLES)]
    Org(commands::org::OrgArgs),
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() { EXIT_ERROR } else { 0 };
            // `--help | head -1`: clap reports the closed pipe as an error we ignore.
            let _ = err.print();
            return code;
        }
    };
    crate::ui::set_quiet(cli.quiet);
    let result = match cli.command {
        Command::Scan(args) => commands::scan::run(*args),
        Command::Verify(args) => commands::verify::run(args),
        Command::Revoke(args) => commands::revoke::run(args),
        Command::Lint(args) => commands::lint::run(args),
        Command::Rules(args) => commands::rules::run(args),
        Command::Ci(args) => commands::ci::run(*args),
        Command::Hook(args) => commands::hook::run(args),
        Command::Completions { shell } => completions(shell),
        Command::Man { subcommand } => man(subcommand.as_deref()),
        Command::Schema => commands::schema::run(),
        Command::Diff(args) => commands::diff::run(args),
        Command::Org(args) => commands::org::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            // The message may quote a path or a line from the input (a gitdir line, a
            // file named after a token): bare tokens redacted, controls escaped.
            let text = crate::redact::redact_token_shapes(&format!("{err:#}"));
            crate::ui::error(crate::report::escape::terminal(&text));
            EXIT_ERROR
        }
    }
}

/// The completion script, built whole before it is written: clap_complete panics on a
/// write error, and a closed pipe must not be a panic.
fn completions(shell: clap_complete::Shell) -> anyhow::Result<i32> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "leakscope", &mut script);
    crate::ui::print(&String::from_utf8_lossy(&script))?;
    Ok(EXIT_CLEAN)
}

/// `leakscope.1`, or `leakscope-SUBCOMMAND.1` with every flag of that subcommand.
fn man(subcommand: Option<&str>) -> anyhow::Result<i32> {
    let mut command = Cli::command();
    command.build();
    let page_of = match subcommand {
        None => command,
        Some(name) => {
            let Some(sub) = command.find_subcommand(name) else {
                let names: Vec<&str> = command.get_subcommands().map(|c| c.get_name()).collect();
                anyhow::bail!(
                    "man {name}: no such subcommand (one of: {})",
                    names.join(", ")
                );
            };
            // clap names are 'static; one page per process.
            let page: &'static str = Box::leak(format!("leakscope-{name}").into_boxed_str());
            sub.clone().name(page).version(env!("CARGO_PKG_VERSION"))
        }
    };
    let mut page = Vec::new();
    clap_mangen::Man::new(page_of).render(&mut page)?;
    crate::ui::print(&String::from_utf8_lossy(&page))?;
    Ok(EXIT_CLEAN)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
