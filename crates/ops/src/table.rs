//! Tables laid out as `flux get` prints them (olekukonko/tablewriter with Flux's settings): every
//! cell left-aligned and padded to its column's width, each cell followed by a tab; headers
//! upper-cased, the last header followed by a space instead of a tab.

use std::sync::OnceLock;

use regex::Regex;

/// Renders `rows` under `header` (no header line when `header` is empty).
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let header: Vec<String> = header.iter().map(|h| title(h)).collect();
    let columns = header
        .len()
        .max(rows.iter().map(Vec::len).max().unwrap_or(0));
    let mut widths = vec![0usize; columns];
    for (i, h) in header.iter().enumerate() {
        widths[i] = widths[i].max(width(h));
    }
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            for line in cell.split('\n') {
                widths[i] = widths[i].max(width(line));
            }
        }
    }
    let mut out = String::new();
    if !header.is_empty() {
        for (i, &w) in widths.iter().enumerate() {
            let h = header.get(i).map(String::as_str).unwrap_or("");
            pad_into(&mut out, h, w);
            out.push(if i + 1 == columns { ' ' } else { '\t' });
        }
        out.push('\n');
    }
    for row in rows {
        // A cell with line breaks makes the row as tall as its longest cell.
        let lines: Vec<Vec<&str>> = row.iter().map(|c| c.split('\n').collect()).collect();
        let height = lines.iter().map(Vec::len).max().unwrap_or(1);
        for l in 0..height {
            for (i, cell) in lines.iter().enumerate() {
                let text = cell.get(l).copied().unwrap_or("  ");
                pad_into(&mut out, text, widths[i]);
                out.push('\t');
            }
            out.push('\n');
        }
    }
    out
}

fn pad_into(out: &mut String, text: &str, w: usize) {
    out.push_str(text);
    for _ in width(text)..w {
        out.push(' ');
    }
}

fn width(s: &str) -> usize {
    s.chars().count()
}

/// Header text as tablewriter formats it: `_` and `.` become spaces, trimmed, upper case.
fn title(h: &str) -> String {
    h.replace(['_', '.'], " ").trim().to_uppercase()
}

/// Shortens every 40 to 128 character lowercase hex string (SHA-1 to SHA-512) to its first 8
/// characters, as `flux get` does for revisions and messages.
pub fn truncate_hex(text: &str) -> String {
    static HEX: OnceLock<Regex> = OnceLock::new();
    let re = HEX.get_or_init(|| {
        Regex::new(r"(?-u:\b)[a-f0-9]{40,128}(?-u:\b)").expect("the hex pattern is valid")
    });
    re.replace_all(text, |c: &regex::Captures<'_>| c[0][..8].to_string())
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_flux() {
        let rows = vec![
            vec![
                "podinfo".into(),
                "main@sha1:1a2b3c4d".into(),
                "False".into(),
            ],
            vec!["a".into(), "".into(), "True".into()],
        ];
        assert_eq!(
            render(&["Name", "Revision", "Suspended"], &rows),
            "NAME   \tREVISION          \tSUSPENDED \n\
             podinfo\tmain@sha1:1a2b3c4d\tFalse    \t\n\
             a      \t                  \tTrue     \t\n"
        );
        assert_eq!(render(&[], &rows[1..]), "a\t\tTrue\t\n");
        assert_eq!(render(&["Last scan"], &[]), "LAST SCAN \n");
    }

    #[test]
    fn hex_truncation_follows_flux_cases() {
        let sha1 = "16cfcc0b9066b3234dda29927ac1c19860d9663f";
        assert_eq!(truncate_hex(sha1), "16cfcc0b");
        assert_eq!(
            truncate_hex(&format!("main@sha1:{sha1}")),
            "main@sha1:16cfcc0b"
        );
        assert_eq!(truncate_hex(&format!("HEAD/{sha1}")), "HEAD/16cfcc0b");
        assert_eq!(
            truncate_hex(&format!("a hash \"{sha1}\" in it")),
            "a hash \"16cfcc0b\" in it"
        );
        assert_eq!(truncate_hex("ffffffffffffff"), "ffffffffffffff");
        let long = "f".repeat(150);
        assert_eq!(truncate_hex(&long), long);
        assert_eq!(truncate_hex("not modified"), "not modified");
    }
}
