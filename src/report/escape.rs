//! Escaping for the terminal: the one function every human writer (scan, lint, verify,
//! revoke) passes scanned or server text through.
//!
//! A file name, snippet, commit summary, author name, rule name or provider answer is
//! data from someone else. Printed raw, an ESC starts a control sequence (recolour,
//! move the cursor, set the window title, OSC 8 links), a CR or backspace hides what
//! came before, and a newline forges a report line. Like git's quoted paths and
//! ripgrep, control characters are shown as escapes instead: `\x1b`, `\n`, `\u{9b}`.
//! JSON, JSON lines and SARIF escape by their own rules and do not use this.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` with every control character (C0, DEL, C1) and every bidirectional override
/// (the "Trojan Source" characters, which reorder what the eye reads) escaped.
/// Printable text, tabs included, is returned as it is, without a copy.
pub fn terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !needs_escape(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\t') || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::terminal;

    #[test]
    fn controls_become_visible_escapes() {
        assert_eq!(terminal("plain/path.txt"), "plain/path.txt");
        assert!(matches!(
            terminal("tab\there"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(terminal("a\x1b[31mred"), "a\\x1b[31mred");
        assert_eq!(
            terminal("x\ny\rz\x08\x07\x7f\0"),
            "x\\ny\\rz\\x08\\x07\\x7f\\0"
        );
        assert_eq!(terminal("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(
            terminal("\x1b]8;;http://e\x1b\\"),
            "\\x1b]8;;http://e\\x1b\\"
        );
        assert_eq!(terminal("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(terminal("é ü 漢"), "é ü 漢");
    }
}
