//! A merchant's own key-value pairs on a payment or a refund: up to 20, keys of 1 to 40
//! characters, each once, values of up to 500; set at creation, kept as a JSON object, echoed in
//! the object's events and webhooks.

use serde::Serialize;
use serde_json::{Map, Value};

use super::errors::{AppError, check_length, invalid};

pub const MAX_ENTRIES: usize = 20;
const MAX_KEY: usize = 40;
const MAX_VALUE: usize = 500;

/// One pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub key: String,
    pub value: String,
}

/// `entries` checked, as stored (`None` for none), or VALIDATION naming `metadata`.
pub fn checked(entries: &[Entry]) -> Result<Option<Value>, AppError> {
    if entries.len() > MAX_ENTRIES {
        return Err(invalid("metadata", format!("at most {MAX_ENTRIES} pairs")));
    }
    let mut object = Map::new();
    for entry in entries {
        check_length("metadata", &entry.key, MAX_KEY)?;
        check_length("metadata", &entry.value, MAX_VALUE)?;
        if object
            .insert(entry.key.clone(), Value::String(entry.value.clone()))
            .is_some()
        {
            return Err(invalid("metadata", format!("key '{}' is given twice", entry.key)));
        }
    }
    Ok((!object.is_empty()).then_some(Value::Object(object)))
}

/// The pairs `stored` holds, by key.
pub fn entries(stored: Option<&Value>) -> Vec<Entry> {
    let Some(Value::Object(object)) = stored else {
        return vec![];
    };
    object
        .iter()
        .map(|(key, value)| Entry {
            key: key.clone(),
            value: value.as_str().unwrap_or_default().to_string(),
        })
        .collect()
}

/// What events and webhooks carry: the object, `{}` for none.
pub fn echoed(stored: Option<&Value>) -> Value {
    stored.cloned().unwrap_or_else(|| Value::Object(Map::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, value: &str) -> Entry {
        Entry {
            key: key.into(),
            value: value.into(),
        }
    }

    #[test]
    fn pairs_within_the_limits_are_kept_and_the_rest_refused_naming_metadata() {
        let kept = checked(&[entry("order", "A-1"), entry("channel", "web")])
            .unwrap()
            .unwrap();
        assert_eq!(
            entries(Some(&kept)),
            vec![entry("channel", "web"), entry("order", "A-1")]
        );
        assert_eq!(checked(&[]).unwrap(), None);
        let too_many: Vec<Entry> = (0..=MAX_ENTRIES).map(|n| entry(&format!("k{n}"), "v")).collect();
        let refusals = [
            checked(&too_many),
            checked(&[entry("", "v")]),
            checked(&[entry(&"k".repeat(41), "v")]),
            checked(&[entry("k", &"v".repeat(501))]),
            checked(&[entry("k", "a"), entry("k", "b")]),
        ];
        for refused in refusals {
            assert!(
                matches!(refused, Err(AppError::Validation { ref field, .. }) if field == "metadata"),
                "{refused:?}"
            );
        }
        assert!(checked(&[entry(&"k".repeat(40), &"v".repeat(500))]).is_ok());
        assert_eq!(echoed(None), serde_json::json!({}));
    }
}
