//! The byte prefilter of a query (see [`Prefilter`]): what the stored JSON of any object the
//! query matches must contain, so a scan decodes only the candidates.
//!
//! Only conditions whose encoding is certain take part: an equality (or a short `$in`) of a
//! top-level field with a string or boolean. The store writes documents with `serde_json`'s
//! compact encoder, whose spelling of a key and a string is fixed (the same escapes every
//! time), so an object whose field is `"s"` contains `"field":"s"`, and one whose field is an
//! array holding `"s"` (which equality also matches) contains `"field":[` and `"s"`. Everything
//! else (numbers, whose spellings vary; dates; dotted keys; negations; subqueries) contributes
//! nothing, and a query with nothing certain has no prefilter.

use serde_json::Value;

use super::compile::{Operand, ValueSet};
use super::{Cond, FieldNode, Node, Query};
use crate::store::Prefilter;

/// Most `$in` members turned into needles: each costs a search of every stored document.
const MAX_IN_NEEDLES: usize = 16;

impl Query {
    /// The prefilter a scan for this query may apply to stored bytes; None when no condition
    /// narrows it.
    pub fn prefilter(&self) -> Option<Prefilter> {
        node_prefilter(&self.root)
    }
}

fn node_prefilter(node: &Node) -> Option<Prefilter> {
    match node {
        Node::And(nodes) => all(nodes.iter().filter_map(node_prefilter).collect()),
        Node::Or(nodes) => Some(Prefilter::Any(nodes.iter().map(node_prefilter).collect::<Option<_>>()?)),
        Node::Field(field) => field_prefilter(field),
        Node::Nor(_) | Node::RelatedTo { .. } => None,
    }
}

fn all(mut parts: Vec<Prefilter>) -> Option<Prefilter> {
    match parts.len() {
        0 => None,
        1 => parts.pop(),
        _ => Some(Prefilter::All(parts)),
    }
}

fn field_prefilter(field: &FieldNode) -> Option<Prefilter> {
    if field.path.len() != 1 || field.date_field {
        return None;
    }
    let parts = field
        .conds
        .iter()
        .filter_map(|cond| match cond {
            Cond::Eq(operand) => scalar(operand).map(|value| equal(&field.key, &value)),
            Cond::In(set) => strings_of(set).map(|strings| {
                Prefilter::Any(strings.into_iter().map(|s| equal(&field.key, &Value::String(s))).collect())
            }),
            _ => None,
        })
        .collect();
    all(parts)
}

/// The operand as the JSON value a stored field equal to it holds, for the kinds whose
/// encoding is certain.
fn scalar(operand: &Operand) -> Option<Value> {
    match operand {
        Operand::String(s) => Some(Value::String(s.clone())),
        Operand::Bool(b) => Some(Value::Bool(*b)),
        _ => None,
    }
}

/// The members of a `$in` made of strings only (a null member matches a missing field, which
/// leaves no bytes to look for), when there are few enough.
fn strings_of(set: &ValueSet) -> Option<Vec<String>> {
    let only_strings = !set.null
        && set.bools == [false, false]
        && set.numbers.is_empty()
        && set.dates.is_empty()
        && set.pointers.is_empty()
        && set.others.is_empty();
    (only_strings && set.strings.len() <= MAX_IN_NEEDLES).then(|| set.strings.iter().cloned().collect())
}

/// Bytes of an object whose top-level `key` equals `value` or is an array holding it.
fn equal(key: &str, value: &Value) -> Prefilter {
    let key = encode(&Value::String(key.to_string()));
    let value = encode(value);
    let pair = [key.as_slice(), b":", value.as_slice()].concat();
    let array = [key.as_slice(), b":["].concat();
    Prefilter::Any(vec![
        Prefilter::contains(&pair),
        Prefilter::All(vec![Prefilter::contains(&array), Prefilter::contains(&value)]),
    ])
}

fn encode(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("a string or a boolean always encodes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use serde_json::{json, Map};

    /// Strings that need escapes, non-ASCII text and near-misses of one another.
    const WORDS: &[&str] =
        &["a", "ab", "b", "", "quote\"d", "back\\slash", "tab\there", "new\nline", "\u{1}ctl", "é", "日本", "😀", "a\"b", "/"];
    const KEYS: &[&str] = &["name", "tag", "nested", "name_2"];

    fn word(rng: &mut StdRng) -> String {
        WORDS[rng.random_range(0..WORDS.len())].to_string()
    }

    fn key(rng: &mut StdRng) -> String {
        KEYS[rng.random_range(0..KEYS.len())].to_string()
    }

    fn value(rng: &mut StdRng, depth: usize) -> Value {
        match rng.random_range(0..if depth > 1 { 5 } else { 8 }) {
            0 => Value::Null,
            1 => Value::Bool(rng.random()),
            2 => json!(rng.random_range(-3..4)),
            3 => json!(f64::from(rng.random_range(-3..4)) / 2.0),
            4 => Value::String(word(rng)),
            5 => Value::Array((0..rng.random_range(0..4)).map(|_| value(rng, depth + 1)).collect()),
            // Nested objects reuse the top-level keys, so their bytes look like a match.
            _ => Value::Object((0..rng.random_range(0..4)).map(|_| (key(rng), value(rng, depth + 1))).collect()),
        }
    }

    fn document(rng: &mut StdRng) -> Map<String, Value> {
        let mut doc: Map<String, Value> = (0..rng.random_range(0..5)).map(|_| (key(rng), value(rng, 0))).collect();
        doc.insert("objectId".into(), json!("x"));
        doc
    }

    fn condition(rng: &mut StdRng) -> Value {
        match rng.random_range(0..7) {
            0 => json!(word(rng)),
            1 => json!(rng.random::<bool>()),
            2 => json!({"$eq": word(rng)}),
            3 => json!({"$in": (0..rng.random_range(0..4)).map(|_| word(rng)).collect::<Vec<_>>()}),
            4 => json!({"$in": [word(rng), null]}),
            5 => json!({"$ne": word(rng)}),
            _ => json!(rng.random_range(-3..4)),
        }
    }

    fn where_(rng: &mut StdRng, depth: usize) -> Value {
        let mut clauses = Map::new();
        for _ in 0..rng.random_range(1..3) {
            match rng.random_range(0..if depth > 1 { 4 } else { 6 }) {
                4 => {
                    clauses.insert("$or".into(), json!([where_(rng, depth + 1), where_(rng, depth + 1)]));
                }
                5 => {
                    clauses.insert("$and".into(), json!([where_(rng, depth + 1)]));
                }
                _ => {
                    clauses.insert(key(rng), condition(rng));
                }
            }
        }
        Value::Object(clauses)
    }

    /// On generated documents and queries, every object a query matches passes its prefilter
    /// (so prefiltered and plain scans answer alike), and the prefilter does refuse objects.
    #[test]
    fn prefiltered_and_plain_matching_agree() {
        let mut rng = StdRng::seed_from_u64(12);
        let documents: Vec<Map<String, Value>> = (0..400).map(|_| document(&mut rng)).collect();
        let encoded: Vec<Vec<u8>> = documents.iter().map(|doc| serde_json::to_vec(doc).unwrap()).collect();
        let (mut refused, mut matches) = (0, 0);
        for _ in 0..1500 {
            let where_ = where_(&mut rng, 0);
            let query = Query::parse(&where_).unwrap();
            let Some(prefilter) = query.prefilter() else { continue };
            for (doc, bytes) in documents.iter().zip(&encoded) {
                let accepted = prefilter.accepts(bytes);
                let matched = query.matches(doc);
                assert!(accepted || !matched, "{where_} matches {} but its prefilter refuses it", Value::Object(doc.clone()));
                refused += usize::from(!accepted);
                matches += usize::from(matched);
            }
        }
        assert!(refused > 100_000 && matches > 1_000, "refused {refused} objects, matched {matches}");
    }

    #[test]
    fn only_certain_conditions_make_a_prefilter() {
        let prefilter = |where_: Value| Query::parse(&where_).unwrap().prefilter();
        assert!(prefilter(json!({"name": "a"})).is_some());
        assert!(prefilter(json!({"name": {"$in": ["a", "b"]}, "score": 3})).is_some());
        assert!(prefilter(json!({"$or": [{"name": "a"}, {"tag": true}]})).is_some());
        for unsure in [
            json!({}),
            json!({"score": 3}),
            json!({"name": {"$ne": "a"}}),
            json!({"name": {"$in": ["a", null]}}),
            json!({"address.city": "Paris"}),
            json!({"createdAt": "2015-03-24T20:19:00.542Z"}),
            json!({"$or": [{"name": "a"}, {"score": 3}]}),
            json!({"$nor": [{"name": "a"}]}),
        ] {
            assert!(prefilter(unsure.clone()).is_none(), "{unsure} should have no prefilter");
        }
        let accepted = |where_: Value, doc: Value| prefilter(where_).unwrap().accepts(&serde_json::to_vec(&doc).unwrap());
        assert!(accepted(json!({"name": "a\"b"}), json!({"name": "a\"b"})));
        assert!(accepted(json!({"name": "日本"}), json!({"name": ["x", "日本"]})));
        assert!(!accepted(json!({"name": "a"}), json!({"name": "ab"})));
        assert!(!accepted(json!({"name": {"$in": []}}), json!({"name": "a"})));
    }
}
