//! Text that came from a file, made safe to show to a person.
//!
//! File names, tensor names, object keys and the strings in an envelope's claims are written by
//! whoever wrote the file. Printed as they are, a newline in a name forges a line of output (a
//! digest, an audit row, "(the expected signer)"), an escape sequence rewrites the screen or the
//! window title, and a bidirectional override reorders what the reader sees (Trojan Source,
//! CVE-2021-42574). Two rules, one per direction:
//!
//! - [`escape`]: every printer for people (terminal output, the audit table and HTML report)
//!   shows such text through it. The escaping is reversible: `\` itself is escaped, so `\n` on the
//!   screen is always a newline in the name, never a backslash and an `n`.
//! - [`printable`]: a string weightguard signs (an envelope's claims) holds none of those
//!   characters; `seal` refuses them and `verify`/`open` refuse an envelope whose claims hold them.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must never reach a terminal as it is: the C0 controls (newline, CR, tab, ESC…),
/// DEL, the C1 controls (U+0080–U+009F, which include the 8-bit CSI), the line and paragraph
/// separators, and the bidirectional formatting characters (marks, embeddings, overrides,
/// isolates).
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// `s` safe to print: `\` as `\\`; newline, CR and tab as `\n`, `\r`, `\t`; other ASCII
/// controls and DEL as `\xHH`; every other [unsafe](is_unsafe) character as `\u{HHHH}`.
/// Everything else, including any other Unicode, is kept. Borrowed when nothing changed.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c == '\\' || is_unsafe(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_ascii_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `s` if it holds no [unsafe](is_unsafe) character; otherwise which one and where. Fails
/// closed: the rule is the same as [`escape`]'s, so a string that passes prints as it is (but
/// for a `\`, which is printable and shown as `\\`). The error quotes `s` as it is, like every
/// error: whoever shows it escapes it (the CLI's `render::error` does).
pub fn printable(s: &str) -> Result<String, String> {
    match s.chars().enumerate().find(|(_, c)| is_unsafe(*c)) {
        None => Ok(s.to_owned()),
        Some((i, c)) => Err(format!(
            "`{s}` holds U+{:04X}, a control or bidirectional formatting character, at \
             character {}; only printable text is accepted",
            c as u32,
            i + 1
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_and_kept() {
        for s in [
            "model.safetensors",
            "layers.0.mlp.weight",
            "日本語/モデル",
            "a b",
            "",
        ] {
            assert!(matches!(escape(s), Cow::Borrowed(_)), "{s}");
            assert_eq!(printable(s).as_deref(), Ok(s));
        }
    }

    #[test]
    fn controls_and_bidi_are_escaped() {
        assert_eq!(escape("a\nb"), "a\\nb");
        assert_eq!(
            escape("a\\nb"),
            "a\\\\nb",
            "a backslash is escaped: unambiguous"
        );
        assert_eq!(escape("\r\t\x1b[2J\x07\x7f"), "\\r\\t\\x1b[2J\\x07\\x7f");
        assert_eq!(escape("\u{9b}31m"), "\\u{009b}31m", "the 8-bit CSI");
        assert_eq!(escape("\u{85}"), "\\u{0085}", "NEL");
        assert_eq!(escape("a\u{202e}fdp.exe"), "a\\u{202e}fdp.exe");
        for c in [
            '\u{061C}', '\u{200E}', '\u{200F}', '\u{2028}', '\u{2029}', '\u{202A}', '\u{202B}',
            '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
        ] {
            let e = escape(&c.to_string()).into_owned();
            assert!(e.starts_with("\\u{") && !e.contains(c), "{e}");
        }
    }

    #[test]
    fn escaped_text_is_always_inert() {
        // Every char from U+0000 to U+30FF: nothing unsafe survives escaping.
        let all: String = (0u32..0x3100).filter_map(char::from_u32).collect();
        let e = escape(&all);
        assert!(!e.chars().any(is_unsafe));
        assert!(printable(&e).is_ok());
    }

    #[test]
    fn printable_names_the_character() {
        let e = printable("fra-1\n  signer (the expected signer)").unwrap_err();
        assert!(e.contains("U+000A, a control"), "{e}");
        assert!(e.contains("at character 6"), "{e}");
        assert!(printable("site\u{202e}1").is_err());
        assert!(printable("back\\slash").is_ok(), "a backslash is printable");
    }
}
