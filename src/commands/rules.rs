//! `leakscope rules list` and `leakscope rules check`.

use super::scan::RulesFlag;
use super::{EXIT_CLEAN, EXIT_FINDINGS};
use crate::blob::{scan_bytes, Origin};
use crate::matcher::Matcher;
use crate::rules::{load_rule_file, rule_files, RuleSet};
use anyhow::Context;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    pub command: RulesCommand,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum RulesCommand {
    /// Print the rules in force (built-in plus --rules).
    List {
        #[command(flatten)]
        rules: RulesFlag,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Validate rule files and run their examples (no FILE: the built-in rules).
    Check {
        /// Rule files or directories.
        files: Vec<PathBuf>,
    },
    /// Write rules in another tool's form: `github-custom-patterns` for GitHub secret
    /// scanning's custom patterns (alerts and push protection for Anaconda tokens).
    Export {
        #[arg(long, value_enum)]
        format: ExportFormat,
        #[command(flatten)]
        rules: RulesFlag,
        /// Also export the built-in GitHub rules (GitHub already detects its own tokens).
        #[arg(long)]
        all: bool,
        /// Write to FILE instead of stdout.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// JSON: one GitHub custom pattern per rule (secret format, before/after context,
    /// test string), and the rules refused with the reason.
    GithubCustomPatterns,
}

pub fn run(args: RulesArgs) -> anyhow::Result<i32> {
    // `rules list | head -1`: a closed pipe ends the listing quietly (see crate::ui).
    let mut out = crate::ui::stdout();
    let code = list_or_check(args, &mut out)?;
    out.flush()?;
    Ok(code)
}

fn list_or_check(args: RulesArgs, out: &mut dyn Write) -> anyhow::Result<i32> {
    match args.command {
        RulesCommand::List { rules, json } => {
            let set = rules.load()?;
            if json {
                let list: Vec<_> = set
                    .rules
                    .iter()
                    .map(|r| {
                        serde_json::json!({
                            "id": r.spec.id, "name": r.spec.name, "provider": r.spec.provider,
                            "keywords": r.spec.keywords, "validator": r.spec.validator,
                            "path": r.spec.path, "source": r.source,
                        })
                    })
                    .collect();
                writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
            } else {
                for r in &set.rules {
                    let check = r.spec.validator.as_deref().unwrap_or("-");
                    writeln!(
                        out,
                        "{:<34} {:<9} {:<18} {}",
                        r.spec.id, r.spec.provider, check, r.spec.name
                    )?;
                }
            }
            Ok(EXIT_CLEAN)
        }
        RulesCommand::Export {
            format: ExportFormat::GithubCustomPatterns,
            rules,
            all,
            output,
        } => {
            let set = rules.load()?;
            // Built-in GitHub rules are left out unless asked: GitHub scans for its own
            // tokens natively, with checksums a custom pattern cannot compute.
            let chosen: Vec<&crate::rules::Rule> = set
                .rules
                .iter()
                .filter(|r| all || r.spec.provider != "github" || !is_builtin(r))
                .collect();
            let export = super::custom_patterns::export(&chosen);
            let mut text = serde_json::to_string_pretty(&export)?;
            text.push('\n');
            match &output {
                Some(path) => std::fs::write(path, text)
                    .with_context(|| format!("--output {}: cannot write", path.display()))?,
                None => print!("{text}"),
            }
            for refused in &export.refused {
                eprintln!("rule {}: not exported: {}", refused.rule_id, refused.reason);
            }
            Ok(if export.refused.is_empty() {
                EXIT_CLEAN
            } else {
                EXIT_FINDINGS
            })
        }
        RulesCommand::Check { files } => {
            let mut set = RuleSet::builtin()?;
            let mut checked_sources: Vec<String> = Vec::new();
            if files.is_empty() {
                checked_sources.extend(set.rules.iter().map(|r| r.source.clone()));
            }
            for path in &files {
                for file in rule_files(path)? {
                    let rules = load_rule_file(&file)?;
                    checked_sources.push(file.display().to_string());
                    set = merge(set, rules)?;
                }
            }
            let count = set
                .rules
                .iter()
                .filter(|r| checked_sources.contains(&r.source))
                .count();
            let failures = example_failures(set, &checked_sources)?;
            for failure in &failures {
                writeln!(out, "{failure}")?;
            }
            if failures.is_empty() {
                writeln!(out, "{} ok", crate::report::human::plural(count, "rule"))?;
                Ok(EXIT_CLEAN)
            } else {
                writeln!(
                    out,
                    "{} in {}",
                    crate::report::human::plural(failures.len(), "example failure"),
                    crate::report::human::plural(count, "rule")
                )?;
                Ok(EXIT_FINDINGS)
            }
        }
    }
}

/// True for the rules compiled into leakscope (`rules/*.toml`).
fn is_builtin(rule: &crate::rules::Rule) -> bool {
    rule.source.starts_with("rules/")
}

fn merge(set: RuleSet, extra: Vec<crate::rules::Rule>) -> anyhow::Result<RuleSet> {
    let mut rules = set.rules;
    for r in extra {
        if let Some(existing) = rules.iter().find(|e| e.spec.id == r.spec.id) {
            anyhow::bail!(
                "{}: rule {}: duplicate rule id (already defined in {})",
                r.source,
                r.spec.id,
                existing.source
            );
        }
        rules.push(r);
    }
    Ok(RuleSet { rules })
}

/// Runs every example and negative example of the rules from `sources` through the
/// whole rule set (so rule priority counts as it will in a real scan) and describes
/// each one that does not behave as written.
pub fn example_failures(set: RuleSet, sources: &[String]) -> anyhow::Result<Vec<String>> {
    // The specs to check, copied out before the matcher takes the rule set.
    let targets: Vec<(String, crate::rules::RuleSpec)> = set
        .rules
        .iter()
        .filter(|r| sources.contains(&r.source))
        .map(|r| (r.source.clone(), r.spec.clone()))
        .collect();
    let mut failures = Vec::new();
    for rule in set.rules.iter().filter(|r| sources.contains(&r.source)) {
        if let Err(message) = rule.compile_now() {
            failures.push(format!(
                "{}: rule {}: bad regex: {message}",
                rule.source, rule.spec.id
            ));
        }
    }
    let matcher = Matcher::new(set).context("cannot build the keyword prefilter")?;
    for (source, spec) in targets {
        let id = spec.id;
        let (examples, negatives) = (spec.examples, spec.negative_examples);
        let path = spec.example_path.as_deref().unwrap_or("example.txt");
        let origin = Origin {
            path: Some(path),
            location: crate::finding::Location::File,
        };
        if examples.is_empty() {
            failures.push(format!("{source}: rule {id}: has no examples"));
        }
        for (i, example) in examples.iter().enumerate() {
            let found = scan_bytes(&matcher, example.as_bytes(), origin);
            for f in found.iter().filter(|f| f.rule.id == id) {
                if let Some(problem) = span_problem(f.secret.expose(), &spec.prefixes) {
                    failures.push(format!(
                        "{source}: rule {id}: example {}: the captured secret {problem}",
                        i + 1
                    ));
                }
            }
            if !found.iter().any(|f| f.rule.id == id) {
                let others: Vec<&str> = found.iter().map(|f| f.rule.id.as_str()).collect();
                failures.push(format!(
                    "{source}: rule {id}: example {} does not match (found: {})",
                    i + 1,
                    if others.is_empty() {
                        "nothing".to_string()
                    } else {
                        others.join(", ")
                    }
                ));
            }
        }
        for (i, example) in negatives.iter().enumerate() {
            let found = scan_bytes(&matcher, example.as_bytes(), origin);
            if found.iter().any(|f| f.rule.id == id) {
                failures.push(format!(
                    "{source}: rule {id}: negative example {} matches",
                    i + 1
                ));
            }
        }
    }
    Ok(failures)
}

/// What is wrong with the span a rule captured as the secret, if anything: a token holds
/// no whitespace or quote (a capture that runs past its token does), and a rule whose
/// prefixes are the token's own (`ghp_`, not a URL's `/t/`) captures from the prefix.
fn span_problem(secret: &str, prefixes: &[String]) -> Option<String> {
    if secret.is_empty() {
        return Some("is empty".into());
    }
    if let Some(c) = secret
        .chars()
        .find(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '`'))
    {
        return Some(format!(
            "holds {c:?}: the capture group runs past the token"
        ));
    }
    let own: Vec<&String> = prefixes.iter().filter(|p| !p.contains('/')).collect();
    if !own.is_empty() && !own.iter().any(|p| secret.starts_with(p.as_str())) {
        return Some("does not start with the rule's prefix".into());
    }
    None
}
