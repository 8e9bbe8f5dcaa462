//! Every token rule file in `rules/` carries examples that must match and negative
//! examples that must not; this runs them all through the real matcher, with the whole
//! built-in rule set loaded so rule priority counts as it does in a scan.

use leakscope::commands::rules::example_failures;
use leakscope::rules::{parse_rules, RuleSet, BUILTIN_FILES};
use std::path::Path;

/// Data files in rules/ that are not token rules (lint facts).
const LINT_DATA: &[&str] = &["scopes.toml", "actions.toml"];

#[test]
fn every_builtin_rule_example_behaves() {
    let set = RuleSet::builtin().expect("built-in rules load");
    let sources: Vec<String> = BUILTIN_FILES.iter().map(|(f, _)| f.to_string()).collect();
    let failures = example_failures(set, &sources).unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every built-in rule opens its windows with case-sensitive prefixes or secret shapes, so
/// no scan searches every byte case-insensitively (the slow path of issue 16).
#[test]
fn builtin_rules_need_no_case_insensitive_pass() {
    let set = RuleSet::builtin().unwrap();
    for rule in &set.rules {
        let s = &rule.spec;
        assert!(
            s.keywords.is_empty() || !s.prefixes.is_empty() || !s.shapes.is_empty(),
            "{}: keywords but neither prefixes nor shapes",
            s.id
        );
    }
    let matcher = leakscope::matcher::Matcher::new(set).unwrap();
    assert!(!matcher.has_case_insensitive_pass());
    // The rule prefixes stay few: slim Teddy over 31 literals took 3.5 times the search
    // time of 9 (measured on 200 MB of crate sources), so encoded forms are not among them.
    let literals = matcher.prefix_literal_count();
    assert!(literals <= 12, "{literals} literals in the SIMD search");
}

#[test]
fn every_token_rule_file_in_rules_dir_is_built_in_and_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".toml") || LINT_DATA.contains(&name.as_str()) {
            continue;
        }
        let builtin = format!("rules/{name}");
        assert!(
            BUILTIN_FILES.iter().any(|(f, _)| *f == builtin),
            "{builtin} is not compiled into the binary (add it to BUILTIN_FILES)"
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let rules = parse_rules(&text, &builtin).unwrap();
        for rule in &rules {
            assert!(
                rule.spec.examples.len() >= 2,
                "{}: fewer than 2 examples",
                rule.spec.id
            );
            assert!(
                rule.spec.negative_examples.len() >= 2,
                "{}: fewer than 2 negative examples",
                rule.spec.id
            );
            assert!(rule.spec.provider == "github" || rule.spec.provider == "anaconda");
            // Facts later stages need are data in the rule file, not tables in code.
            assert!(
                rule.spec.verify.is_some(),
                "{}: names no verify route",
                rule.spec.id
            );
            assert!(
                rule.spec.kind.as_deref().is_some_and(|k| !k.is_empty()),
                "{}: names no token kind",
                rule.spec.id
            );
            assert!(rule
                .spec
                .id
                .starts_with(&format!("{}.", rule.spec.provider)));
        }
        seen += 1;
    }
    assert_eq!(seen, BUILTIN_FILES.len());
}

#[test]
fn a_broken_example_is_reported() {
    let mut set = RuleSet::builtin().unwrap();
    let user = parse_rules(
        r#"
[[rule]]
id = "user.thing"
name = "user thing"
provider = "user"
keywords = ["thing_"]
regex = '''(thing_[0-9]{4})'''
examples = ["thing_12ab"]
negative_examples = ["thing_1234"]
"#,
        "user.toml",
    )
    .unwrap();
    set.rules.extend(user);
    let failures = example_failures(set, &["user.toml".to_string()]).unwrap();
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(failures[0].contains("example 1 does not match"));
    assert!(failures[1].contains("negative example 1 matches"));
}

#[test]
fn a_capture_that_runs_past_its_token_is_reported() {
    let mut set = RuleSet::builtin().unwrap();
    let user = parse_rules(
        r#"
[[rule]]
id = "user.greedy"
name = "greedy capture"
provider = "user"
prefixes = ["tok_"]
regex = '''key=("?tok_[0-9]{4}"?)'''
examples = ['key="tok_1234"']
negative_examples = ["key=tok_12"]

[[rule]]
id = "user.early"
name = "capture before the prefix"
provider = "user"
prefixes = ["tok_"]
regex = '''(x-tok_[0-9]{4})'''
examples = ["x-tok_1234"]
negative_examples = ["tok_1234"]
"#,
        "user.toml",
    )
    .unwrap();
    set.rules.extend(user);
    let failures = example_failures(set, &["user.toml".to_string()]).unwrap();
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(failures[0].contains("user.greedy: example 1: the captured secret holds '\"'"));
    assert!(failures[1].contains("user.early: example 1: the captured secret does not start"));
}

#[test]
fn rule_file_errors_name_file_rule_and_line() {
    let err = parse_rules("[[rule]]\nid = \"x\"\nname = 3\n", "bad.toml").unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("bad.toml:3:"), "{text}");

    let two_groups = r#"
[[rule]]
id = "t.two"
name = "two groups"
provider = "t"
keywords = ["k"]
regex = '''(k)(x)'''
"#;
    let text = parse_rules(two_groups, "two.toml").unwrap_err().to_string();
    assert!(
        text.contains("two.toml: rule t.two: regex must have exactly one capture group"),
        "{text}"
    );

    let unknown_validator = r#"
[[rule]]
id = "t.v"
name = "v"
provider = "t"
keywords = ["k"]
regex = '''(k)'''
validator = "nope"
"#;
    let text = parse_rules(unknown_validator, "v.toml")
        .unwrap_err()
        .to_string();
    assert!(text.contains("unknown validator \"nope\""), "{text}");

    let no_keywords = r#"
[[rule]]
id = "t.n"
name = "n"
provider = "t"
regex = '''(k)'''
"#;
    assert!(parse_rules(no_keywords, "n.toml").is_err());
}

/// Built-in regexes compile on first use (startup stays fast for a pre-commit hook),
/// but a user rule whose regex parses yet cannot compile is still refused at load.
#[test]
fn user_rule_regexes_are_compiled_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("huge.toml");
    std::fs::write(
        &file,
        r#"
[[rule]]
id = "t.huge"
name = "too big to compile"
provider = "t"
keywords = ["k"]
regex = '''k((?:[A-Za-z0-9]{1000}){1000})'''
"#,
    )
    .unwrap();
    let err = RuleSet::with_user_rules(&[file]).unwrap_err().to_string();
    assert!(err.contains("rule t.huge: bad regex"), "{err}");
}

#[test]
fn a_verify_route_is_a_known_name_never_a_url() {
    let text = r#"
[[rule]]
id = "user.thing"
name = "Thing"
provider = "github"
verify = "https://example.com/check"
keywords = ["thing_"]
regex = '(thing_[a-z]{8})'
"#;
    let err = parse_rules(text, "user.toml").unwrap_err().to_string();
    assert!(err.contains("user.toml"), "{err}");
    assert!(err.contains("unknown variant"), "{err}");
}
