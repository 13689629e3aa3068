//! Line-level surgery on block-style YAML: documents, key lines, key blocks, and the two field
//! conversions that need new text (Kustomization patches, HelmRelease valuesFile).

use serde_json::{json, Value};

/// A document's lines, 0-based, end exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Doc {
    /// First line.
    pub start: usize,
    /// One past the last line.
    pub end: usize,
}

fn is_separator(line: &str) -> bool {
    let t = line.trim_end();
    t == "---" || t.starts_with("--- ") || t.starts_with("---\t") || t == "..."
}

/// Splits at `---` / `...` lines.
pub fn split_documents(src: &str) -> Vec<Doc> {
    let mut docs = Vec::new();
    let mut start = 0;
    let lines: Vec<&str> = src.split_inclusive('\n').collect();
    for (i, l) in lines.iter().enumerate() {
        if is_separator(l) {
            if i > start {
                docs.push(Doc { start, end: i });
            }
            start = i + 1;
        }
    }
    if lines.len() > start {
        docs.push(Doc {
            start,
            end: lines.len(),
        });
    }
    docs
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

fn is_key_line(line: &str, key: &str) -> bool {
    let t = line.trim_start_matches(' ');
    t.strip_prefix(key)
        .and_then(|rest| rest.strip_prefix(':'))
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\n', '\r', '\t', '#']))
}

/// The line of the key at `path` (block mappings only), if present.
pub fn find_key(lines: &[&str], doc: &Doc, path: &[&str]) -> Option<usize> {
    let mut from = doc.start;
    let mut to = doc.end;
    let mut want = 0usize;
    let mut found = None;
    for (depth, k) in path.iter().enumerate() {
        if depth > 0 {
            // Children sit at the indentation of the first content line after the parent key.
            want = (from..to)
                .find(|&i| !is_blank_or_comment(lines[i]))
                .map(|i| indent(lines[i]))?;
        }
        let line = (from..to).find(|&i| indent(lines[i]) == want && is_key_line(lines[i], k))?;
        found = Some(line);
        let end = key_block(lines, line, to);
        from = line + 1;
        to = end;
    }
    found
}

/// One past the last line of the value of the key on `line` (trailing blank and comment
/// lines are left outside).
pub fn key_block(lines: &[&str], line: usize, limit: usize) -> usize {
    let base = indent(lines[line]);
    let mut end = line + 1;
    let mut i = line + 1;
    while i < limit {
        let l = lines[i];
        if is_blank_or_comment(l) {
            i += 1;
            continue;
        }
        let n = indent(l);
        let t = l.trim_start_matches(' ');
        // A sequence may sit at the key's own indentation.
        if n > base || (n == base && (t.starts_with("- ") || t.trim_end() == "-")) {
            i += 1;
            end = i;
        } else {
            break;
        }
    }
    end
}

/// Replaces line ranges (of the original line numbering) with new text.
pub fn replace_blocks(src: &str, blocks: &[(usize, usize, String)]) -> String {
    let lines: Vec<&str> = src.split_inclusive('\n').collect();
    let mut sorted: Vec<&(usize, usize, String)> = blocks.iter().collect();
    sorted.sort_by_key(|b| b.0);
    let mut out = String::with_capacity(src.len());
    let mut at = 0;
    for (start, end, text) in sorted {
        if *start < at {
            continue;
        }
        for l in &lines[at..*start] {
            out.push_str(l);
        }
        out.push_str(text);
        at = *end;
    }
    for l in &lines[at.min(lines.len())..] {
        out.push_str(l);
    }
    out
}

/// Parses a key block as the one-entry mapping it is.
fn parse_block(lines: &[&str], start: usize, end: usize) -> Option<Value> {
    let base = indent(lines[start]);
    let text: String = lines[start..end]
        .iter()
        .map(|l| {
            if l.len() >= base {
                &l[base..]
            } else {
                l.trim_start()
            }
        })
        .collect();
    let v = flotilla_yaml::from_str(&text).ok()?;
    v.as_object()?.values().next().cloned()
}

/// Indents every line of `text` by `n` spaces.
fn indented(text: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    text.lines()
        .map(|l| {
            if l.is_empty() {
                "\n".to_string()
            } else {
                format!("{pad}{l}\n")
            }
        })
        .collect()
}

/// Kustomization `spec.patchesStrategicMerge` and `spec.patchesJson6902` → `spec.patches`.
pub fn convert_kustomize_patches(
    lines: &[&str],
    doc: &Doc,
    blocks: &mut Vec<(usize, usize, String)>,
    changes: &mut Vec<String>,
    warnings: &mut Vec<String>,
) {
    let smp = find_key(lines, doc, &["spec", "patchesStrategicMerge"]);
    let json = find_key(lines, doc, &["spec", "patchesJson6902"]);
    if smp.is_none() && json.is_none() {
        return;
    }
    let existing = find_key(lines, doc, &["spec", "patches"]);
    let mut patches: Vec<Value> = Vec::new();
    let mut anchor = None;
    if let Some(line) = existing {
        let end = key_block(lines, line, doc.end);
        match parse_block(lines, line, end) {
            Some(Value::Array(items)) => patches.extend(items),
            _ => {
                warnings.push(format!(
                    "line {}: spec.patches could not be read; convert patchesStrategicMerge/patchesJson6902 by hand",
                    line + 1
                ));
                return;
            }
        }
        anchor = Some((line, end));
    }
    let mut converted = Vec::new();
    for (field, line) in [("patchesStrategicMerge", smp), ("patchesJson6902", json)] {
        let Some(line) = line else { continue };
        let end = key_block(lines, line, doc.end);
        let Some(Value::Array(items)) = parse_block(lines, line, end) else {
            warnings.push(format!(
                "line {}: spec.{field} is not a list; convert it by hand",
                line + 1
            ));
            return;
        };
        for item in items {
            let entry = if field == "patchesStrategicMerge" {
                json!({"patch": flotilla_yaml::to_string(&item)})
            } else {
                let mut e = serde_json::Map::new();
                if let Some(ops) = item.get("patch") {
                    let text = match ops {
                        Value::String(s) => s.clone(),
                        other => flotilla_yaml::to_string(other),
                    };
                    e.insert("patch".into(), Value::String(text));
                }
                if let Some(t) = item.get("target") {
                    e.insert("target".into(), t.clone());
                }
                Value::Object(e)
            };
            patches.push(entry);
        }
        changes.push(format!(
            "line {}: spec.{field} → spec.patches{}",
            line + 1,
            if existing.is_some() {
                " (comments inside spec.patches were not kept)"
            } else {
                ""
            }
        ));
        converted.push((line, end));
    }
    let (first, _) = *converted.first().expect("at least one field was converted");
    let base = indent(lines[first]);
    let rendered = indented(
        &flotilla_yaml::to_string(&json!({ "patches": patches })),
        base,
    );
    match anchor {
        Some((line, end)) => {
            blocks.push((line, end, rendered));
            for (l, e) in converted {
                blocks.push((l, e, String::new()));
            }
        }
        None => {
            let mut iter = converted.into_iter();
            if let Some((l, e)) = iter.next() {
                blocks.push((l, e, rendered));
            }
            for (l, e) in iter {
                blocks.push((l, e, String::new()));
            }
        }
    }
}

/// HelmRelease `spec.chart.spec.valuesFile: x` → `valuesFiles: [x]` (as a block list).
pub fn convert_values_file(
    lines: &[&str],
    doc: &Doc,
    blocks: &mut Vec<(usize, usize, String)>,
    changes: &mut Vec<String>,
) {
    let Some(line) = find_key(lines, doc, &["spec", "chart", "spec", "valuesFile"]) else {
        return;
    };
    if find_key(lines, doc, &["spec", "chart", "spec", "valuesFiles"]).is_some() {
        changes.push(format!(
            "line {}: removed spec.chart.spec.valuesFile (valuesFiles is set)",
            line + 1
        ));
        blocks.push((line, line + 1, String::new()));
        return;
    }
    let l = lines[line];
    let base = indent(l);
    let value = l.trim_start()["valuesFile:".len()..].trim_end_matches(['\n', '\r']);
    blocks.push((
        line,
        line + 1,
        format!(
            "{}valuesFiles:\n{}-{value}\n",
            " ".repeat(base),
            " ".repeat(base)
        ),
    ));
    changes.push(format!(
        "line {}: spec.chart.spec.valuesFile → valuesFiles",
        line + 1
    ));
}
