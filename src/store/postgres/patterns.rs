//! A `$regex` (the `regex` crate's syntax, options as inline flags) as a PostgreSQL advanced
//! regular expression that matches exactly the same strings, or None.
//!
//! The pattern is parsed into the `regex` crate's own high-level form, where case folding, `.`
//! and every class are already spelled out as code point ranges; those are written back with
//! every character escaped by code point, so no PostgreSQL syntax, locale or flag can read them
//! differently. Only whether a string matches is asked, so greediness does not matter. What
//! has no exact counterpart (word boundaries, byte classes, counts past PostgreSQL's 255, very
//! large classes) declines, and the query is scanned.

use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// Longest translation kept: larger ones are Unicode classes (`\w`, `\pL`) PostgreSQL would
/// compile slowly, if at all.
const MAX_LEN: usize = 8_000;

/// PostgreSQL's largest repetition count (`RE_DUPMAX`).
const MAX_REPEAT: u32 = 255;

/// `pattern` as an equivalent PostgreSQL regular expression, None when there is none here.
pub fn postgres_regex(pattern: &str) -> Option<String> {
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    let mut out = String::new();
    write(&hir, &mut out)?;
    (out.len() <= MAX_LEN).then_some(out)
}

fn write(hir: &Hir, out: &mut String) -> Option<()> {
    match hir.kind() {
        HirKind::Empty => out.push_str("(?:)"),
        HirKind::Literal(literal) => {
            for c in std::str::from_utf8(&literal.0).ok()?.chars() {
                // Text never holds NUL, so a pattern needing one never matches; rare enough to scan.
                if c == '\0' {
                    return None;
                }
                push_char(c, out);
            }
        }
        HirKind::Class(Class::Unicode(class)) => {
            let mut ranges = String::new();
            for range in class.ranges() {
                // NUL is never in a text, so a range may start past it.
                let start = range.start().max('\u{1}');
                if start > range.end() {
                    continue;
                }
                push_char(start, &mut ranges);
                if range.end() > start {
                    ranges.push('-');
                    push_char(range.end(), &mut ranges);
                }
            }
            if ranges.is_empty() {
                return None;
            }
            out.push('[');
            out.push_str(&ranges);
            out.push(']');
        }
        HirKind::Class(Class::Bytes(_)) => return None,
        HirKind::Look(look) => out.push_str(match look {
            Look::Start => "^",
            Look::End => "$",
            Look::StartLF => "(?:^|(?<=\\n))",
            Look::EndLF => "(?:$|(?=\\n))",
            _ => return None,
        }),
        HirKind::Repetition(repetition) => {
            if repetition.min > MAX_REPEAT || repetition.max.is_some_and(|max| max > MAX_REPEAT) {
                return None;
            }
            out.push_str("(?:");
            write(&repetition.sub, out)?;
            out.push(')');
            match (repetition.min, repetition.max) {
                (0, None) => out.push('*'),
                (1, None) => out.push('+'),
                (0, Some(1)) => out.push('?'),
                (min, None) => out.push_str(&format!("{{{min},}}")),
                (min, Some(max)) => out.push_str(&format!("{{{min},{max}}}")),
            }
        }
        HirKind::Capture(capture) => {
            out.push_str("(?:");
            write(&capture.sub, out)?;
            out.push(')');
        }
        HirKind::Concat(parts) => {
            for part in parts {
                write(part, out)?;
            }
        }
        HirKind::Alternation(parts) => {
            out.push_str("(?:");
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    out.push('|');
                }
                write(part, out)?;
            }
            out.push(')');
        }
    }
    Some(())
}

/// A character as itself when it is an ASCII letter or digit, else as its code point escape,
/// which means the same inside and outside brackets.
fn push_char(c: char, out: &mut String) {
    if c.is_ascii_alphanumeric() {
        out.push(c);
    } else if u32::from(c) <= 0xFFFF {
        out.push_str(&format!("\\u{:04X}", u32::from(c)));
    } else {
        out.push_str(&format!("\\U{:08X}", u32::from(c)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_spelled_by_code_point() {
        assert_eq!(postgres_regex("^a\\.b").unwrap(), "^a\\u002Eb");
        assert_eq!(postgres_regex("(?i)x").unwrap(), "[Xx]");
        assert_eq!(postgres_regex("a{2,3}|b*").unwrap(), "(?:(?:a){2,3}|(?:b)*)");
        assert_eq!(postgres_regex("(?m)^a$").unwrap(), "(?:^|(?<=\\n))a(?:$|(?=\\n))");
        assert!(postgres_regex(".").unwrap().starts_with("[\\u0001-\\u0009\\u000B-"), "dot is every char but a newline");
    }

    #[test]
    fn what_postgresql_cannot_say_declines() {
        for pattern in ["\\bword", "a{300}", "(?-u)\\xFF", "\\w+", "\\x00", "("] {
            assert_eq!(postgres_regex(pattern), None, "{pattern}");
        }
    }
}
