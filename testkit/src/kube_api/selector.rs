//! Label selectors as `labelSelector=` carries them: requirements joined by commas,
//! each `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k` (exists) or `!k`
//! (does not exist) (kubernetes/kubernetes@v1.33.0:staging/src/k8s.io/apimachinery/pkg/labels/selector.go).
//! `!=` and `notin` also match objects without the label, as upstream.
//! Not implemented: the numeric `gt`/`lt` operators (set-based selectors of lists only).

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

impl Requirement {
    fn matches(&self, labels: &Value) -> bool {
        let get = |key: &str| labels.get(key).and_then(Value::as_str);
        match self {
            Requirement::Equals(k, v) => get(k) == Some(v),
            Requirement::NotEquals(k, v) => get(k) != Some(v),
            Requirement::In(k, values) => get(k).is_some_and(|x| values.iter().any(|v| v == x)),
            Requirement::NotIn(k, values) => get(k).is_none_or(|x| values.iter().all(|v| v != x)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::DoesNotExist(k) => get(k).is_none(),
        }
    }
}

/// A parsed selector; the empty selector matches everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Selector(Vec<Requirement>);

impl Selector {
    /// Whether an object's `metadata.labels` (a map, or absent) match every requirement.
    pub(super) fn matches(&self, labels: &Value) -> bool {
        self.0.iter().all(|r| r.matches(labels))
    }

    pub(super) fn parse(text: &str) -> Result<Self, String> {
        split_top_level(text)?
            .into_iter()
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(requirement)
            .collect::<Result<_, _>>()
            .map(Selector)
    }
}

/// Splits at the commas outside parentheses.
fn split_top_level(text: &str) -> Result<Vec<&str>, String> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0usize, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| format!("unbalanced `)` in {text:?}"))?
            }
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(format!("unbalanced `(` in {text:?}"));
    }
    parts.push(&text[start..]);
    Ok(parts)
}

fn requirement(part: &str) -> Result<Requirement, String> {
    if let Some(key) = part.strip_prefix('!') {
        return Ok(Requirement::DoesNotExist(key_of(key)?));
    }
    if let Some((k, v)) = part.split_once("!=") {
        return Ok(Requirement::NotEquals(key_of(k)?, value_of(v)?));
    }
    if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
        return Ok(Requirement::Equals(key_of(k)?, value_of(v)?));
    }
    if let Some((k, set)) = part.split_once(" notin ") {
        return Ok(Requirement::NotIn(key_of(k)?, set_of(set)?));
    }
    if let Some((k, set)) = part.split_once(" in ") {
        return Ok(Requirement::In(key_of(k)?, set_of(set)?));
    }
    Ok(Requirement::Exists(key_of(part)?))
}

/// A label key: `[prefix/]name`, names of letters, digits, `-`, `_`, `.`.
fn key_of(text: &str) -> Result<String, String> {
    let key = text.trim();
    let ok = !key.is_empty()
        && key.split('/').count() <= 2
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if ok {
        Ok(key.to_owned())
    } else {
        Err(format!("invalid label key {key:?}"))
    }
}

fn value_of(text: &str) -> Result<String, String> {
    let value = text.trim();
    if value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        Ok(value.to_owned())
    } else {
        Err(format!("invalid label value {value:?}"))
    }
}

fn set_of(text: &str) -> Result<Vec<String>, String> {
    let inner = text
        .trim()
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .ok_or_else(|| format!("expected a set `(a,b)`, found {text:?}"))?;
    inner.split(',').map(value_of).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn matching(selector: &str) -> Vec<&'static str> {
        let objects = [
            ("demo-a", json!({"app": "demo", "tier": "a"})),
            ("demo-b", json!({"app": "demo", "tier": "b"})),
            ("other", json!({"app": "other"})),
            ("bare", Value::Null),
        ];
        let selector = Selector::parse(selector).unwrap();
        objects
            .iter()
            .filter(|(_, labels)| selector.matches(labels))
            .map(|(name, _)| *name)
            .collect()
    }

    #[test]
    fn every_operator() {
        assert_eq!(matching(""), ["demo-a", "demo-b", "other", "bare"]);
        assert_eq!(matching("app=demo"), ["demo-a", "demo-b"]);
        assert_eq!(matching("app==demo,tier=b"), ["demo-b"]);
        assert_eq!(matching("app!=demo"), ["other", "bare"]);
        assert_eq!(matching("app in (demo, x)"), ["demo-a", "demo-b"]);
        assert_eq!(matching("tier notin (b)"), ["demo-a", "other", "bare"]);
        assert_eq!(matching("tier"), ["demo-a", "demo-b"]);
        assert_eq!(matching("!tier"), ["other", "bare"]);
        assert_eq!(matching("app in (demo,other),!tier"), ["other"]);
    }

    #[test]
    fn malformed_selectors_are_errors() {
        for bad in ["app in (demo", "app in demo", "a b", "app=(x)", "=x"] {
            assert!(Selector::parse(bad).is_err(), "{bad:?} parsed");
        }
    }
}
