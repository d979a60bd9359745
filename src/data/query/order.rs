//! `order` (compiled once, compared with MongoDB's order across types) and `keys` projection.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::super::ids::millis_from_iso;
use super::super::schema::DEFAULT_FIELDS;
use super::evaluate::{date_of, pointer_parts};
use super::{lookup, parse_path, QueryError, Segment};

/// A compiled `order` parameter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Order(pub(super) Vec<SortKey>);

#[derive(Debug, Clone, PartialEq)]
pub(super) struct SortKey {
    pub(super) path: Vec<Segment>,
    pub(super) descending: bool,
    date_field: bool,
}

impl Order {
    /// `"score,-name"` → ascending score, then descending name. Empty/absent → no ordering.
    /// Invalid key names (including empty entries such as `"a,,b"`) → [`QueryError`].
    pub fn parse(order: &str) -> Result<Order, QueryError> {
        if order.trim().is_empty() {
            return Ok(Order::default());
        }
        order
            .split(',')
            .map(|entry| {
                let entry = entry.trim();
                let (descending, key) = match entry.strip_prefix('-') {
                    Some(key) => (true, key),
                    None => (false, entry),
                };
                let path =
                    parse_path(key).ok_or_else(|| QueryError::Invalid(format!("invalid order key: {entry:?}")))?;
                Ok(SortKey { path, descending, date_field: matches!(key, "createdAt" | "updatedAt") })
            })
            .collect::<Result<_, _>>()
            .map(Order)
    }

    /// The keys sorted by, dotted as written, so the caller can refuse keys the reader may not
    /// sort by.
    pub fn keys(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|key| key.path.iter().map(|segment| segment.name.as_str()).collect::<Vec<_>>().join("."))
            .collect()
    }

    /// The field and direction when the order is one top-level field (what an index can serve).
    pub fn single_field(&self) -> Option<(&str, bool)> {
        match self.0.as_slice() {
            [key] if key.path.len() == 1 && key.path[0].index.is_none() => Some((key.path[0].name.as_str(), key.descending)),
            _ => None,
        }
    }

    /// True when there is nothing to sort by, e.g. so the caller can fall back to `$nearSphere`
    /// distance order as Parse Server does.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Compares by each key in turn. Missing and null values sort first in ascending order;
    /// across types the order is MongoDB's: null < numbers < strings < objects < arrays <
    /// Bytes < booleans < Dates. Pointers sort as MongoDB stores them, as the string
    /// `"className$objectId"`; Files sort by name; Dates (and `createdAt`/`updatedAt`) by
    /// instant; objects field by field; arrays element by element.
    pub fn compare(&self, a: &Map<String, Value>, b: &Map<String, Value>) -> Ordering {
        for key in &self.0 {
            let ordering = compare_sortable(
                sortable(lookup(a, &key.path), key.date_field),
                sortable(lookup(b, &key.path), key.date_field),
            );
            let ordering = if key.descending { ordering.reverse() } else { ordering };
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        Ordering::Equal
    }
}

/// A stored value as `order` sees it; variants are declared in sort order across types.
enum Sortable<'a> {
    Null,
    Number(f64),
    /// `(prefix, suffix)` compared as the string `prefix$suffix`, or just `prefix` when `suffix`
    /// is `None`; lets a Pointer sort like MongoDB's `"className$objectId"` without allocating.
    Text(&'a str, Option<&'a str>),
    Object(&'a Map<String, Value>),
    Array(&'a [Value]),
    Bytes(&'a str),
    Bool(bool),
    Date(i64),
}

impl Sortable<'_> {
    fn rank(&self) -> u8 {
        match self {
            Sortable::Null => 0,
            Sortable::Number(_) => 1,
            Sortable::Text(..) => 2,
            Sortable::Object(_) => 3,
            Sortable::Array(_) => 4,
            Sortable::Bytes(_) => 5,
            Sortable::Bool(_) => 6,
            Sortable::Date(_) => 7,
        }
    }
}

fn sortable(value: Option<&Value>, date_field: bool) -> Sortable<'_> {
    match value {
        None | Some(Value::Null) => Sortable::Null,
        Some(Value::Bool(b)) => Sortable::Bool(*b),
        Some(Value::Number(n)) => Sortable::Number(n.as_f64().unwrap_or(0.0)),
        Some(Value::String(s)) if date_field => match millis_from_iso(s) {
            Some(ms) => Sortable::Date(ms),
            None => Sortable::Text(s, None),
        },
        Some(Value::String(s)) => Sortable::Text(s, None),
        Some(Value::Array(items)) => Sortable::Array(items),
        Some(Value::Object(map)) => {
            if let Some((class_name, object_id)) = pointer_parts(map) {
                return Sortable::Text(class_name, Some(object_id));
            }
            if let Some(ms) = date_of(map) {
                return Sortable::Date(ms);
            }
            match (map.get("__type").and_then(Value::as_str), map.get("name"), map.get("base64")) {
                (Some("File"), Some(Value::String(name)), _) => Sortable::Text(name, None),
                (Some("Bytes"), _, Some(Value::String(base64))) => Sortable::Bytes(base64),
                _ => Sortable::Object(map),
            }
        }
    }
}

fn compare_sortable(a: Sortable<'_>, b: Sortable<'_>) -> Ordering {
    match (&a, &b) {
        (Sortable::Number(x), Sortable::Number(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (Sortable::Text(x, x_suffix), Sortable::Text(y, y_suffix)) => match (x_suffix, y_suffix) {
            (None, None) => x.cmp(y),
            _ => text_bytes(x, *x_suffix).cmp(text_bytes(y, *y_suffix)),
        },
        (Sortable::Object(x), Sortable::Object(y)) => {
            for ((x_key, x_value), (y_key, y_value)) in x.iter().zip(y.iter()) {
                let ordering = x_key
                    .cmp(y_key)
                    .then_with(|| compare_sortable(sortable(Some(x_value), false), sortable(Some(y_value), false)));
                if ordering != Ordering::Equal {
                    return ordering;
                }
            }
            x.len().cmp(&y.len())
        }
        (Sortable::Array(x), Sortable::Array(y)) => {
            for (x_item, y_item) in x.iter().zip(y.iter()) {
                let ordering = compare_sortable(sortable(Some(x_item), false), sortable(Some(y_item), false));
                if ordering != Ordering::Equal {
                    return ordering;
                }
            }
            x.len().cmp(&y.len())
        }
        (Sortable::Bytes(x), Sortable::Bytes(y)) => x.cmp(y),
        (Sortable::Bool(x), Sortable::Bool(y)) => x.cmp(y),
        (Sortable::Date(x), Sortable::Date(y)) => x.cmp(y),
        _ => a.rank().cmp(&b.rank()),
    }
}

/// The bytes of `prefix$suffix` (or of `prefix` alone), without building the string.
fn text_bytes<'a>(prefix: &'a str, suffix: Option<&'a str>) -> impl Iterator<Item = u8> + 'a {
    let (separator, suffix) = match suffix {
        Some(suffix) => (Some(b'$'), suffix),
        None => (None, ""),
    };
    prefix.bytes().chain(separator).chain(suffix.bytes())
}

/// `keys=a,b.c`: keeps objectId, createdAt, updatedAt, ACL and the named top-level fields (for a
/// dotted key its first segment, since the rest selects inside an included object). A blank
/// `keys` keeps only the always-kept fields. Returns a new map.
pub fn project_keys(object: &Map<String, Value>, keys: &str) -> Map<String, Value> {
    let wanted: Vec<&str> = keys
        .split(',')
        .map(|key| key.trim().split('.').next().unwrap_or_default())
        .filter(|key| !key.is_empty())
        .collect();
    object
        .iter()
        .filter(|(key, _)| DEFAULT_FIELDS.contains(&key.as_str()) || wanted.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}


#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use crate::data::query::tests::{fixture, obj};

    fn sorted_ids(order: &str, objects: &[Map<String, Value>]) -> Vec<String> {
        let order = Order::parse(order).unwrap();
        let mut objects = objects.to_vec();
        objects.sort_by(|a, b| order.compare(a, b));
        objects.iter().map(|o| o["objectId"].as_str().unwrap().to_string()).collect()
    }

    #[test]
    fn order_with_several_keys_and_missing_values() {
        let objects = vec![
            obj!({"objectId": "a", "score": 2, "name": "x"}),
            obj!({"objectId": "b", "score": 1, "name": "y"}),
            obj!({"objectId": "c", "score": 2, "name": "z"}),
            obj!({"objectId": "d", "name": "w"}),
            obj!({"objectId": "e", "score": null, "name": "v"}),
            obj!({"objectId": "f", "score": 1.5}),
        ];
        let cases = [
            ("score", vec!["d", "e", "b", "f", "a", "c"]),
            ("score,-name", vec!["d", "e", "b", "f", "c", "a"]),
            ("-score,name", vec!["a", "c", "f", "b", "e", "d"]),
            ("-score,-name", vec!["c", "a", "f", "b", "d", "e"]),
            ("name", vec!["f", "e", "d", "a", "b", "c"]),
            (" score , -name ", vec!["d", "e", "b", "f", "c", "a"]),
            ("", vec!["a", "b", "c", "d", "e", "f"]),
        ];
        for (order, expected) in cases {
            assert_eq!(sorted_ids(order, &objects), expected, "order {order:?}");
        }
    }

    #[test]
    fn order_by_dates_and_dotted_keys() {
        let objects = vec![
            obj!({"objectId": "a", "createdAt": "2015-03-24T20:19:00.542Z", "when": {"__type": "Date", "iso": "2020-01-01T00:00:00Z"}, "address": {"city": "Paris"}}),
            obj!({"objectId": "b", "createdAt": "2015-03-24T20:19:00Z", "when": {"__type": "Date", "iso": "2019-12-31T23:00:00-02:00"}, "address": {"city": "Lyon"}}),
            obj!({"objectId": "c", "createdAt": "2015-03-24T20:18:59.999Z", "when": {"__type": "Date", "iso": "2019-06-01T00:00:00Z"}}),
        ];
        // Byte-wise, "...00.542Z" < "...00Z"; as instants it is later.
        assert_eq!(sorted_ids("createdAt", &objects), vec!["c", "b", "a"]);
        assert_eq!(sorted_ids("-createdAt", &objects), vec!["a", "b", "c"]);
        assert_eq!(sorted_ids("when", &objects), vec!["c", "a", "b"]);
        assert_eq!(sorted_ids("address.city", &objects), vec!["c", "b", "a"]);
        assert_eq!(sorted_ids("-address.city", &objects), vec!["a", "b", "c"]);
    }

    #[test]
    fn order_across_types() {
        let values = [
            json!(null),
            json!(-3),
            json!(7.5),
            json!("A"),
            json!({"__type": "Pointer", "className": "B", "objectId": "x"}),
            json!("B$y"),
            json!({"__type": "File", "name": "C.png", "url": "u"}),
            json!({"a": 1}),
            json!({"a": 2}),
            json!({"b": 0}),
            json!([1, 2]),
            json!([1, 2, 0]),
            json!([2]),
            json!({"__type": "Bytes", "base64": "AA"}),
            json!(false),
            json!(true),
            json!({"__type": "Date", "iso": "1970-01-01T00:00:00Z"}),
        ];
        let objects: Vec<Map<String, Value>> = values
            .iter()
            .enumerate()
            .rev()
            .map(|(i, value)| obj!({"objectId": format!("{i:02}"), "v": value}))
            .collect();
        let expected: Vec<String> = (0..values.len()).map(|i| format!("{i:02}")).collect();
        assert_eq!(sorted_ids("v", &objects), expected);
        let mut descending = expected.clone();
        descending.reverse();
        assert_eq!(sorted_ids("-v", &objects), descending);
        let missing = obj!({"objectId": "m"});
        let null = obj!({"objectId": "n", "v": null});
        let order = Order::parse("v").unwrap();
        assert_eq!(order.compare(&missing, &null), Ordering::Equal);
        assert_eq!(order.compare(&missing, &objects[0]), Ordering::Less);
    }

    #[test]
    fn order_parse() {
        assert!(Order::parse("").unwrap().is_empty());
        assert!(Order::parse("   ").unwrap().is_empty());
        assert!(!Order::parse("score").unwrap().is_empty());
        assert!(Order::parse("-createdAt,objectId,_rperm,address.city").is_ok());
        for bad in ["-", "a,,b", "a,", ",a", "$score", "-$score", "a b", "1x", "a..b", "na-me", "--a", "a.$b"] {
            assert!(matches!(Order::parse(bad), Err(QueryError::Invalid(_))), "{bad:?} should be invalid");
        }
    }

    #[test]
    fn project_keys_keeps_named_and_system_fields() {
        let object = fixture();
        let projected = project_keys(&object, "name,address.city, score");
        let mut keys: Vec<&str> = projected.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["address", "createdAt", "name", "objectId", "score", "updatedAt"]);
        assert_eq!(projected["address"], object["address"]);

        let with_acl = obj!({"objectId": "x", "ACL": {"*": {"read": true}}, "secret": 1, "a": 2});
        let projected = project_keys(&with_acl, "a");
        assert_eq!(Value::Object(projected), json!({"objectId": "x", "ACL": {"*": {"read": true}}, "a": 2}));
        assert_eq!(Value::Object(project_keys(&with_acl, "")), json!({"objectId": "x", "ACL": {"*": {"read": true}}}));
        assert_eq!(
            Value::Object(project_keys(&with_acl, "nope,,")),
            json!({"objectId": "x", "ACL": {"*": {"read": true}}})
        );
    }
}
