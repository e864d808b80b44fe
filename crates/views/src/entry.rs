//! Reading Dossier's own entries back: what the views that fold them (exceptions, tokens) need
//! of each. A leaf module: it imports no other module of this crate.

use serde_json::Value;

/// An entry's `subject.content` (taken, not copied) and its `context.timestamp` in Unix
/// nanoseconds; `None` when the raw bytes do not read so.
pub(crate) fn content_of(raw: &[u8]) -> Option<(Value, i64)> {
    let mut v: Value = serde_json::from_slice(raw).ok()?;
    let at = v.pointer("/context/timestamp").and_then(Value::as_str).and_then(dossier_core::event::parse_timestamp)?;
    Some((v.pointer_mut("/subject/content").map(Value::take).unwrap_or(Value::Null), at))
}
