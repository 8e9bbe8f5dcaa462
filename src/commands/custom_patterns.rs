//! `leakscope rules export --format github-custom-patterns`: token rules in the form
//! GitHub secret scanning's custom patterns take, so an organisation gets GitHub's own
//! alerts and push protection for tokens GitHub has no pattern for (Anaconda's).
//!
//! A custom pattern is a Hyperscan-syntax "secret format" with optional "before secret"
//! and "after secret" context. A rule's regex is split at its secret capture group
//! (before / secret / after), every capture group becomes non-capturing (Hyperscan does
//! not capture), and each part is checked against the constructs Hyperscan does not
//! take (lookaround, backreferences, atomic groups and possessive quantifiers cannot be
//! written in a Rust regex at all; the Rust-only ones are refused here with the reason:
//! the `U`, `u` and `R` flags (but `(?-u:…)`, bytes as Hyperscan matches them, becomes a
//! plain group), `\b{start}`-style and `\<`/`\>` boundaries, class set
//! operations `&&`/`--`/`~~` and Unicode classes). What is exported is re-checked with
//! the `regex` crate: the joined parts must find the same secret in every example of
//! the rule. Checksums and other validators cannot be expressed as a pattern; such
//! rules are exported with a note that GitHub will also alert on well-formed fakes.

use crate::rules::Rule;
use regex_syntax::ast::{self, Ast};
use serde::Serialize;

/// One exported pattern, named as in GitHub's custom-pattern form.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CustomPattern {
    /// Pattern name (the rule's name).
    pub name: String,
    /// The leakscope rule it came from.
    pub rule_id: String,
    /// "Secret format": what GitHub reports as the secret.
    pub secret_format: String,
    /// "Before secret"; omitted when the rule has no context before the secret (GitHub
    /// then uses its default, `\A|[^0-9A-Za-z]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before_secret: Option<String>,
    /// "After secret"; omitted like `before_secret` (default `\z|[^0-9A-Za-z]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_secret: Option<String>,
    /// "Test string": the rule's examples, one per line.
    pub test_string: String,
    /// What differs from the leakscope rule (a validator GitHub cannot run, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A rule that could not be exported, and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Refused {
    pub rule_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Export {
    pub format: &'static str,
    /// How to use the file.
    pub usage: &'static str,
    pub patterns: Vec<CustomPattern>,
    pub refused: Vec<Refused>,
}

pub const USAGE: &str = "Add each pattern under Settings -> Code security -> Secret scanning -> Custom patterns \
(repository, organisation or enterprise): secret_format is 'Secret format', before_secret / after_secret go under \
'More options', test_string is the test string. Enable push protection on the pattern once its dry run is clean.";

/// Exports `rules`; each one is either a pattern or refused with the reason.
pub fn export(rules: &[&Rule]) -> Export {
    let mut patterns = Vec::new();
    let mut refused = Vec::new();
    for rule in rules {
        match export_rule(rule) {
            Ok(p) => patterns.push(p),
            Err(reason) => refused.push(Refused {
                rule_id: rule.spec.id.clone(),
                reason,
            }),
        }
    }
    Export {
        format: "github-custom-patterns",
        usage: USAGE,
        patterns,
        refused,
    }
}

pub fn export_rule(rule: &Rule) -> Result<CustomPattern, String> {
    let parts = split(&rule.spec.regex)?;
    let mut notes = Vec::new();
    if let Some(validator) = &rule.spec.validator {
        notes.push(format!(
            "leakscope also checks `{validator}`; a custom pattern cannot, so GitHub will also alert on well-formed strings that fail it"
        ));
    }
    if parts.whole_match {
        notes.push(
            "the rule has no capture group at its top level: the whole match is the secret".into(),
        );
    }
    check_examples(rule, &parts)?;
    Ok(CustomPattern {
        name: rule.spec.name.clone(),
        rule_id: rule.spec.id.clone(),
        secret_format: parts.secret,
        before_secret: parts.before,
        after_secret: parts.after,
        test_string: rule.spec.examples.join("\n"),
        notes,
    })
}

/// A rule's regex split at its secret.
#[derive(Debug, PartialEq, Eq)]
pub struct Parts {
    pub before: Option<String>,
    pub secret: String,
    pub after: Option<String>,
    /// No top-level capture group: `secret` is the whole regex.
    pub whole_match: bool,
}

impl Parts {
    /// The parts joined back, with the secret as the only capture group: what the
    /// export check runs with the `regex` crate.
    pub fn joined(&self) -> String {
        format!(
            "(?:{})({})(?:{})",
            self.before.as_deref().unwrap_or(""),
            self.secret,
            self.after.as_deref().unwrap_or("")
        )
    }
}

/// Parses `regex`, refuses what Hyperscan does not take, and splits it at the first
/// capture group of its top-level concatenation.
pub fn split(regex: &str) -> Result<Parts, String> {
    let mut tree = ast::parse::Parser::new()
        .parse(regex)
        .map_err(|e| format!("not a valid regex: {e}"))?;
    check_supported(&tree)?;
    let first_capture = |items: &[Ast]| {
        items.iter().position(
            |a| matches!(a, Ast::Group(g) if !matches!(g.kind, ast::GroupKind::NonCapturing(_))),
        )
    };
    let print = |asts: &[Ast], flags: &str| -> Option<String> {
        if asts.is_empty() {
            return None;
        }
        let mut out = String::from(flags);
        for a in asts {
            let mut a = a.clone();
            strip_captures(&mut a);
            ast::print::Printer::new()
                .print(&a, &mut out)
                .expect("printing to a String cannot fail");
        }
        Some(out)
    };
    match &mut tree {
        Ast::Concat(concat) => {
            let items = &concat.asts;
            let Some(at) = first_capture(items) else {
                return Ok(Parts {
                    before: None,
                    secret: print(items, "").unwrap_or_default(),
                    after: None,
                    whole_match: true,
                });
            };
            // Flags set at the top (`(?i)`) apply to everything after them: each part
            // carries the ones set before it.
            let flags_before = |end: usize| {
                items[..end]
                    .iter()
                    .filter(|a| matches!(a, Ast::Flags(_)))
                    .filter_map(|a| {
                        let mut s = String::new();
                        ast::print::Printer::new().print(a, &mut s).ok()?;
                        Some(s)
                    })
                    .collect::<String>()
            };
            let Ast::Group(group) = &items[at] else {
                unreachable!("position found a group")
            };
            let secret =
                print(std::slice::from_ref(&*group.ast), &flags_before(at)).unwrap_or_default();
            Ok(Parts {
                before: print(&items[..at], ""),
                secret,
                after: print(&items[at + 1..], &flags_before(at)),
                whole_match: false,
            })
        }
        Ast::Group(group) if !matches!(group.kind, ast::GroupKind::NonCapturing(_)) => Ok(Parts {
            before: None,
            secret: print(std::slice::from_ref(&*group.ast), "").unwrap_or_default(),
            after: None,
            whole_match: false,
        }),
        other => Ok(Parts {
            before: None,
            secret: print(std::slice::from_ref(other), "").unwrap_or_default(),
            after: None,
            whole_match: true,
        }),
    }
}

/// Turns every capture group into a non-capturing one, and `(?-u:…)` into `(?:…)`
/// (see [`is_unicode_off`]).
fn strip_captures(node: &mut Ast) {
    match node {
        Ast::Group(g) => {
            let plain = match &g.kind {
                ast::GroupKind::NonCapturing(flags) => is_unicode_off(flags),
                _ => true,
            };
            if plain {
                g.kind = ast::GroupKind::NonCapturing(ast::Flags {
                    span: g.span,
                    items: Vec::new(),
                });
            }
            strip_captures(&mut g.ast);
        }
        Ast::Concat(c) => c.asts.iter_mut().for_each(strip_captures),
        Ast::Alternation(a) => a.asts.iter_mut().for_each(strip_captures),
        Ast::Repetition(r) => strip_captures(&mut r.ast),
        _ => {}
    }
}

/// `(?-u:…)` alone: bytes rather than code points, which is how Hyperscan matches
/// anyway (a custom pattern is not in UTF-8 mode), so it is exported as a plain group.
fn is_unicode_off(flags: &ast::Flags) -> bool {
    matches!(
        flags.items.as_slice(),
        [
            ast::FlagsItem {
                kind: ast::FlagsItemKind::Negation,
                ..
            },
            ast::FlagsItem {
                kind: ast::FlagsItemKind::Flag(ast::Flag::Unicode),
                ..
            }
        ]
    )
}

fn check_flags(flags: &ast::Flags) -> Result<(), String> {
    for item in &flags.items {
        if let ast::FlagsItemKind::Flag(flag) = &item.kind {
            let name = match flag {
                ast::Flag::SwapGreed => "U (swap greed)",
                ast::Flag::Unicode => "u (Unicode toggle)",
                ast::Flag::CRLF => "R (CRLF mode)",
                _ => continue,
            };
            return Err(format!(
                "uses the `{name}` flag, which Hyperscan does not support"
            ));
        }
    }
    Ok(())
}

fn check_class_set(set: &ast::ClassSet) -> Result<(), String> {
    match set {
        ast::ClassSet::BinaryOp(_) => Err(
            "uses a class set operation (`&&`, `--` or `~~`), which Hyperscan does not support; write the class out"
                .into(),
        ),
        ast::ClassSet::Item(item) => check_class_item(item),
    }
}

fn check_class_item(item: &ast::ClassSetItem) -> Result<(), String> {
    match item {
        ast::ClassSetItem::Unicode(_) => Err(unicode_class()),
        ast::ClassSetItem::Bracketed(b) => check_class_set(&b.kind),
        ast::ClassSetItem::Union(u) => u.items.iter().try_for_each(check_class_item),
        _ => Ok(()),
    }
}

fn unicode_class() -> String {
    "uses a Unicode class (\\p{...}), which Hyperscan accepts only in UTF-8/UCP mode that a custom pattern does not promise; use an ASCII class".into()
}

/// Refuses what Hyperscan does not take, with the reason.
fn check_supported(node: &Ast) -> Result<(), String> {
    match node {
        Ast::Flags(f) => check_flags(&f.flags),
        Ast::Assertion(a) => match a.kind {
            ast::AssertionKind::WordBoundaryStart
            | ast::AssertionKind::WordBoundaryEnd
            | ast::AssertionKind::WordBoundaryStartAngle
            | ast::AssertionKind::WordBoundaryEndAngle
            | ast::AssertionKind::WordBoundaryStartHalf
            | ast::AssertionKind::WordBoundaryEndHalf => Err(
                "uses a `\\b{start}`/`\\b{end}`/`\\<`/`\\>` boundary, which Hyperscan does not support; use `\\b` or a class"
                    .into(),
            ),
            _ => Ok(()),
        },
        Ast::ClassUnicode(_) => Err(unicode_class()),
        Ast::ClassBracketed(b) => check_class_set(&b.kind),
        Ast::Group(g) => {
            match &g.kind {
                ast::GroupKind::NonCapturing(flags) if !is_unicode_off(flags) => {
                    check_flags(flags)?
                }
                _ => {}
            }
            check_supported(&g.ast)
        }
        Ast::Concat(c) => c.asts.iter().try_for_each(check_supported),
        Ast::Alternation(a) => a.asts.iter().try_for_each(check_supported),
        Ast::Repetition(r) => check_supported(&r.ast),
        _ => Ok(()),
    }
}

/// The exported parts must find, in every example, the secret the rule itself finds.
fn check_examples(rule: &Rule, parts: &Parts) -> Result<(), String> {
    // Bytes, as the matcher runs rules (a rule may match bytes with `(?-u:…)`).
    let exported = regex::bytes::Regex::new(&parts.joined())
        .map_err(|e| format!("the exported pattern does not compile: {e}"))?;
    let original = regex::bytes::Regex::new(&rule.spec.regex)
        .map_err(|e| format!("the rule's regex does not compile: {e}"))?;
    for (i, example) in rule.spec.examples.iter().enumerate() {
        let expected: Vec<&[u8]> = original
            .captures_iter(example.as_bytes())
            .map(|c| {
                c.get(1)
                    .or_else(|| c.get(0))
                    .map_or(&b""[..], |m| m.as_bytes())
            })
            .collect();
        let found: Vec<&[u8]> = exported
            .captures_iter(example.as_bytes())
            .map(|c| c.get(1).map_or(&b""[..], |m| m.as_bytes()))
            .collect();
        if found != expected {
            return Err(format!(
                "the exported pattern finds {} secret(s) in example {} where the rule finds {}",
                found.len(),
                i + 1,
                expected.len()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_the_secret_and_drops_captures() {
        let p = split(r"(?i:anaconda\.org/t/)([a-z0-9]{2}-(x|y))(?:[^a-z]|$)").unwrap();
        assert_eq!(p.before.as_deref(), Some(r"(?i:anaconda\.org/t/)"));
        assert_eq!(p.secret, r"[a-z0-9]{2}-(?:x|y)");
        assert_eq!(p.after.as_deref(), Some(r"(?:[^a-z]|$)"));
        assert!(!p.whole_match);
        // Top-level flags carry into the secret and after parts.
        let p = split(r"(?i)token=(ab+)\b").unwrap();
        assert_eq!(p.secret, "(?i)ab+");
        assert_eq!(p.after.as_deref(), Some(r"(?i)\b"));
        let p = split(r"ghp_[A-Za-z0-9]{36}").unwrap();
        assert!(p.whole_match && p.before.is_none());
    }

    #[test]
    fn refuses_what_hyperscan_does_not_take() {
        for (regex, why) in [
            (r"(?U)a+(b)", "swap greed"),
            (r"\b{start}(a)", "boundary"),
            (r"\<(a)\>", "boundary"),
            (r"([a-z&&[^x]])", "class set operation"),
            (r"(\p{L}+)", "Unicode class"),
            (r"([\pN])", "Unicode class"),
            (r"(?u:(a))", "Unicode toggle"),
        ] {
            let err = split(regex).unwrap_err();
            assert!(err.contains(why), "{regex}: {err}");
        }
        assert!(split("(unclosed")
            .unwrap_err()
            .contains("not a valid regex"));
    }

    /// `(?-u:…)` is bytes, as Hyperscan matches: a plain group in the export; `(?u-i:…)`
    /// and `(?-u)` set at the top are still refused.
    #[test]
    fn a_unicode_off_group_exports_as_a_plain_group() {
        let parts = split(r"key(?-u:[^\n]){0,9}=(ab)").unwrap();
        assert_eq!(parts.before.as_deref(), Some(r"key(?:[^\n]){0,9}="));
        assert!(split(r"(?u-i:(a))").is_err());
        assert!(split(r"(?-u)(a)").is_err());
    }

    /// Every built-in Anaconda rule exports, and the exported form (run with the `regex`
    /// crate) finds in each example exactly the secret the rule finds.
    #[test]
    fn builtin_anaconda_rules_export_and_still_match_their_examples() {
        let set = crate::rules::RuleSet::builtin().unwrap();
        let anaconda: Vec<&Rule> = set
            .rules
            .iter()
            .filter(|r| r.spec.provider == "anaconda")
            .collect();
        assert!(!anaconda.is_empty());
        let out = export(&anaconda);
        assert!(out.refused.is_empty(), "{:?}", out.refused);
        assert_eq!(out.patterns.len(), anaconda.len());
        for (p, rule) in out.patterns.iter().zip(&anaconda) {
            let joined = format!(
                "(?:{})({})(?:{})",
                p.before_secret.as_deref().unwrap_or(""),
                p.secret_format,
                p.after_secret.as_deref().unwrap_or("")
            );
            let re = regex::Regex::new(&joined).unwrap();
            for example in &rule.spec.examples {
                assert!(re.is_match(example), "{}: {example}", rule.spec.id);
                assert!(p.test_string.contains(example.as_str()));
            }
            assert!(!p.secret_format.contains("(?P<") && !p.secret_format.contains("(?<"));
        }
    }
}
