//! A test on the few fields of a stored document a query reads, that a scan runs on those
//! fields decoded alone before it decodes the rest.
//!
//! Decoding a whole document (a map, a string for each key and value) costs several times
//! sled's read of it, and a scan the byte [`Prefilter`](super::Prefilter) cannot narrow (a
//! range, a number, a negation) decoded every object it then refused. Decoding only the fields
//! the test reads skips the others in place without allocating, so a refused object costs a
//! pass over its bytes. The test must read no field outside [`Screen::fields`]: it then answers
//! on the part exactly as on the whole document, and refusing on the part never drops a match.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

use super::Document;

/// Which top-level fields a test reads, and the test.
pub struct Screen<'a> {
    fields: Vec<&'a str>,
    test: &'a (dyn Fn(&Document) -> bool + Sync),
}

impl<'a> Screen<'a> {
    /// `test` must read no top-level field of a document but `fields`.
    pub fn new(fields: Vec<&'a str>, test: &'a (dyn Fn(&Document) -> bool + Sync)) -> Self {
        Screen { fields, test }
    }

    /// Does `doc` (the whole document, or its part from [`Screen::part_of`]) pass?
    pub fn passes(&self, doc: &Document) -> bool {
        (self.test)(doc)
    }

    /// The screened fields of the document encoded as `bytes` (JSON), the others skipped
    /// undecoded; None when the bytes are not a JSON object.
    pub fn part_of(&self, bytes: &[u8]) -> Option<Document> {
        let mut decoder = serde_json::Deserializer::from_slice(bytes);
        Part(&self.fields).deserialize(&mut decoder).ok()
    }
}

/// The seed that decodes the fields it names and skips the rest.
struct Part<'s, 'a>(&'s [&'a str]);

impl<'de> DeserializeSeed<'de> for Part<'_, '_> {
    type Value = Document;

    fn deserialize<D: Deserializer<'de>>(self, decoder: D) -> Result<Document, D::Error> {
        decoder.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Part<'_, '_> {
    type Value = Document;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Document, A::Error> {
        let mut part = Document::new();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match self.0.iter().find(|field| **field == key.as_str()) {
                // A key repeated in the bytes keeps its last value, as a whole decode does.
                Some(field) => {
                    part.insert((*field).to_owned(), map.next_value()?);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(part)
    }
}

/// A key, borrowed from the bytes unless it holds escapes.
enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(key) => key,
            Key::Owned(key) => key,
        }
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(decoder: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a string key")
            }

            fn visit_borrowed_str<E: serde::de::Error>(self, key: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(key))
            }

            fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(key.to_owned()))
            }
        }
        decoder.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    fn part(fields: &[&str], doc: &Value) -> Document {
        let test = |_: &Document| true;
        let bytes = serde_json::to_vec(doc).unwrap();
        Screen::new(fields.to_vec(), &test).part_of(&bytes).unwrap()
    }

    #[test]
    fn the_part_holds_the_named_fields_exactly_as_a_whole_decode() {
        let doc = json!({
            "objectId": "a1", "score": 7.5, "tag": "t\"3\\", "nested": {"score": 1, "tag": ["x"]},
            "big": [1, {"a": [null, true]}, "s"], "ACL": {"*": {"read": true}}, "k\"ey": "escaped"
        });
        let whole = doc.as_object().unwrap();
        let fields = ["score", "tag", "ACL", "k\"ey", "absent"];
        let got = part(&fields, &doc);
        let expected: Document = whole.iter().filter(|(k, _)| fields.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
        assert_eq!(got, expected);
        assert!(!got.contains_key("nested") && !got.contains_key("absent"));
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value_and_non_objects_have_no_part() {
        let test = |_: &Document| true;
        let screen = Screen::new(vec!["a"], &test);
        let bytes = br#"{"a":1,"b":2,"a":3}"#;
        let whole: Document = serde_json::from_slice(bytes).unwrap();
        assert_eq!(screen.part_of(bytes).unwrap().get("a"), whole.get("a"));
        assert!(screen.part_of(b"[1,2]").is_none());
        assert!(screen.part_of(b"{\"a\":").is_none());
    }

    #[test]
    fn passes_runs_the_test() {
        let test = |doc: &Document| doc.get("n").and_then(Value::as_i64).is_some_and(|n| n > 2);
        let screen = Screen::new(vec!["n"], &test);
        assert!(screen.passes(&screen.part_of(br#"{"x":[1],"n":3}"#).unwrap()));
        assert!(!screen.passes(&screen.part_of(br#"{"n":2,"x":{"n":9}}"#).unwrap()));
    }
}
