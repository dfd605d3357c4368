//! All YAML in and out of the framework goes through here, so that the YAML crate is named
//! in one file only: moving to another implementation (serde_yaml is unmaintained) changes
//! this file and nothing else.

use serde::de::DeserializeOwned;
use serde::{Deserialize as _, Serialize};

/// YAML that cannot be read, or a value that cannot be written as YAML.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct YamlError(#[from] serde_yaml::Error);

/// `value` as one YAML document, without a leading `---`.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, YamlError> {
    Ok(serde_yaml::to_string(value)?)
}

/// One YAML document.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    Ok(serde_yaml::from_str(text)?)
}

/// One YAML document, from bytes (a Secret's data, a downloaded file).
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, YamlError> {
    Ok(serde_yaml::from_slice(bytes)?)
}

/// Every document of a multi-document stream (`---` separated, as release manifests are),
/// in order; empty documents (a leading `---`, a trailing one) are skipped.
pub fn documents(text: &str) -> Result<Vec<serde_json::Value>, YamlError> {
    let mut out = Vec::new();
    for document in serde_yaml::Deserializer::from_str(text) {
        let value = serde_json::Value::deserialize(document)?;
        if !value.is_null() {
            out.push(value);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_keeps_order_and_skips_empty_ones() {
        let text = "---\nkind: Namespace\n---\n# only a comment\n---\nkind: Deployment\nspec: {replicas: 1}\n---\n";
        assert_eq!(
            documents(text).unwrap(),
            [
                json!({"kind": "Namespace"}),
                json!({"kind": "Deployment", "spec": {"replicas": 1}})
            ]
        );
    }

    #[test]
    fn a_broken_document_is_an_error_not_a_skip() {
        assert!(documents("kind: A\n---\nkind: [unclosed\n").is_err());
    }

    #[test]
    fn round_trip_through_text_and_bytes() {
        let value = json!({"a": ["x", 1], "b": {"c": true}});
        let text = to_string(&value).unwrap();
        assert_eq!(from_str::<serde_json::Value>(&text).unwrap(), value);
        assert_eq!(
            from_slice::<serde_json::Value>(text.as_bytes()).unwrap(),
            value
        );
    }
}
