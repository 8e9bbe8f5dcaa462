//! GitHub Actions workflow commands (`--format github`): one `::error file=…::…` line
//! per finding, which the runner turns into an annotation on the file and line, as
//! ruff's and zizmor's `github` formats do.
//!
//! A workflow command is parsed by the runner from any line of the job's log, so
//! everything that comes from the scanned input (paths, rule names, snippets) is
//! escaped the way the runner unescapes it: `%`, `\r` and `\n` in the message, and also
//! `:` and `,` in properties, which would otherwise end the property early. Other
//! control characters (an ANSI escape in a file name) are shown as `\u{1b}`-style text
//! so they cannot repaint the log. The secret is redacted unless `--show-secrets`.
//!
//! GitHub shows at most 10 error annotations per step (50 per job) on the pull request;
//! the rest are in the log. `leakscope ci` therefore also writes a job summary.

use super::{Report, ReportOptions};
use crate::finding::Finding;
use crate::source::ScanError;
use std::io::Write;

/// The annotation's kind, as the workflow command names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    Notice,
}

impl Level {
    fn command(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Notice => "notice",
        }
    }
}

/// One workflow-command annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub level: Level,
    /// Path relative to the checkout; `None` for an annotation on no file.
    pub file: Option<String>,
    pub line: Option<usize>,
    pub col: Option<usize>,
    pub end_column: Option<usize>,
    pub title: Option<String>,
    pub message: String,
}

impl Annotation {
    /// The `::level props::message` line, escaped, without the newline.
    pub fn render(&self) -> String {
        let mut props: Vec<String> = Vec::new();
        if let Some(file) = &self.file {
            props.push(format!("file={}", escape_property(file)));
            if let Some(line) = self.line {
                props.push(format!("line={line}"));
                if let Some(col) = self.col {
                    props.push(format!("col={col}"));
                    if let Some(end) = self.end_column {
                        props.push(format!("endColumn={end}"));
                    }
                }
            }
        }
        if let Some(title) = &self.title {
            props.push(format!("title={}", escape_property(title)));
        }
        let props = if props.is_empty() {
            String::new()
        } else {
            format!(" {}", props.join(","))
        };
        format!(
            "::{}{}::{}",
            self.level.command(),
            props,
            escape_data(&self.message)
        )
    }
}

/// Escapes a workflow command's message: `%` → `%25`, `\r` → `%0D`, `\n` → `%0A`
/// (the runner's own rules), and other control characters as visible text.
pub fn escape_data(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c if c.is_control() => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    out
}

/// Escapes a property value: as [`escape_data`], plus `:` → `%3A` and `,` → `%2C`.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// The annotation for one scan finding.
pub fn finding_annotation(f: &Finding, show_secrets: bool) -> Annotation {
    let mut message = super::found_message(f, show_secrets);
    if f.path.is_none() {
        message.push_str(" in a commit or tag message");
    }
    if let Some(encoding) = f.encoding {
        message.push_str(&format!(" (decoded from {})", encoding.as_str()));
    }
    if let Some(v) = &f.verdict {
        message.push_str(&format!(" [{}]", v.describe()));
    }
    message.push_str(&format!(
        ". Revoke it, then remove it; fingerprint {}",
        f.fingerprint
    ));
    let level = match f.confidence {
        crate::finding::Confidence::High => Level::Error,
        crate::finding::Confidence::Low => Level::Warning,
    };
    Annotation {
        level,
        file: f.path.clone(),
        line: Some(f.line),
        col: Some(f.column),
        end_column: Some(f.end_column),
        title: Some(f.rule.id.clone()),
        message,
    }
}

/// Warnings for what could not be read and notices for the report's notes: a gate
/// reader must see them next to the findings.
pub fn error_and_note_annotations(errors: &[ScanError], notes: &[String]) -> Vec<Annotation> {
    let mut out: Vec<Annotation> = errors
        .iter()
        .map(|e| Annotation {
            level: Level::Warning,
            file: e.path.clone(),
            line: None,
            col: None,
            end_column: None,
            title: Some("leakscope: not scanned".into()),
            message: match &e.object {
                Some(object) => format!("{object}: {}", e.message),
                None => e.message.clone(),
            },
        })
        .collect();
    out.extend(notes.iter().map(|n| Annotation {
        level: Level::Notice,
        file: None,
        line: None,
        col: None,
        end_column: None,
        title: Some("leakscope".into()),
        message: n.clone(),
    }));
    out
}

/// `scan --format github`.
pub fn write(out: &mut dyn Write, report: &Report, options: ReportOptions) -> std::io::Result<()> {
    for f in report.active() {
        writeln!(
            out,
            "{}",
            finding_annotation(f, options.show_secrets).render()
        )?;
    }
    for a in error_and_note_annotations(&report.errors, &report.summary.notes) {
        writeln!(out, "{}", a.render())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_properties_are_escaped_as_the_runner_unescapes_them() {
        assert_eq!(escape_data("50%\r\nnext"), "50%25%0D%0Anext");
        assert_eq!(escape_data("a:b,c"), "a:b,c");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
        assert_eq!(escape_data("x\u{1b}[31my"), "x\\u{1b}[31my");
    }

    #[test]
    fn an_annotation_renders_its_properties_in_order() {
        let a = Annotation {
            level: Level::Error,
            file: Some("dir, with: odd\nname.txt".into()),
            line: Some(3),
            col: Some(7),
            end_column: Some(47),
            title: Some("github.classic-pat".into()),
            message: "found::here\n".into(),
        };
        assert_eq!(
            a.render(),
            "::error file=dir%2C with%3A odd%0Aname.txt,line=3,col=7,endColumn=47,title=github.classic-pat::found::here%0A"
        );
        let bare = Annotation {
            level: Level::Notice,
            file: None,
            line: Some(1),
            col: None,
            end_column: None,
            title: None,
            message: "m".into(),
        };
        assert_eq!(bare.render(), "::notice::m");
    }
}
