//! A compiled `where` and `order` as a store's [`Filter`] and sort keys, for a store that
//! answers queries itself. Only what translates exactly: top-level fields of plain values under
//! `$and`/`$or`, compared by equality (on an array field: holding the value), `$ne`,
//! `$lt`…`$gte`, `$in`, `$nin`, `$all`, `$exists` and `$regex`, and the subquery operators
//! (`$relatedTo`, `$inQuery`/`$notInQuery`, `$select`/`$dontSelect`) once resolved, as the
//! lists of ids and values they answered. Anything else (`$nor`, geo, full text, arrays or
//! objects as values, dotted keys, the ACL and internal `_` fields) makes the whole query a
//! scan, so no answer changes.

use std::collections::HashSet;

use super::{AllItem, Answer, Cond, CompareOp, FieldNode, Node, Operand, Order, Query, ValueSet};
use crate::store::filter::{Comparison, Filter, Scalar, SortField, Test};

impl Query {
    /// The `where` as a store filter, None unless every condition translates (see the module)
    /// and every subquery has been answered.
    pub fn store_filter(&self) -> Option<Filter> {
        self.node_filter(&self.root)
    }

    /// The objectIds a subquery answered, None before it was.
    fn answered_ids(&self, slot: usize) -> Option<&HashSet<String>> {
        match self.answers.get(slot) {
            Some(Some(Answer::Ids(ids))) => Some(ids),
            _ => None,
        }
    }

    fn node_filter(&self, node: &Node) -> Option<Filter> {
        match node {
            Node::And(nodes) => Some(Filter::And(nodes.iter().map(|node| self.node_filter(node)).collect::<Option<_>>()?)),
            Node::Or(nodes) => Some(Filter::Or(nodes.iter().map(|node| self.node_filter(node)).collect::<Option<_>>()?)),
            Node::Nor(_) => None,
            // The related objects are those whose objectId the relation lists.
            Node::RelatedTo { slot } => {
                let ids = self.answered_ids(*slot)?;
                Some(Filter::Field { name: "objectId".into(), test: Test::In(ids.iter().cloned().map(Scalar::Text).collect()) })
            }
            Node::Field(field) => self.field_filter(field),
        }
    }

    fn field_filter(&self, field: &FieldNode) -> Option<Filter> {
        let [segment] = field.path.as_slice() else { return None };
        if segment.index.is_some() || !plain_field(&field.key) {
            return None;
        }
        let tests = field
            .conds
            .iter()
            .map(|cond| self.cond_filter(&field.key, cond, field.date_field))
            .collect::<Option<Vec<_>>>()?;
        Some(Filter::And(tests))
    }

    fn cond_filter(&self, name: &str, cond: &Cond, date_field: bool) -> Option<Filter> {
        let field = |test| Filter::Field { name: name.to_owned(), test };
        Some(match cond {
            // Every value held (every pattern matched): no value at all holds nothing.
            Cond::All(items) if items.is_empty() => Filter::Or(Vec::new()),
            Cond::All(items) => Filter::And(
                items
                    .iter()
                    .map(|item| match item {
                        AllItem::Value(operand) => Some(field(Test::Eq(scalar(operand, date_field)?))),
                        AllItem::Regex(regex) if !date_field => Some(field(Test::Regex(regex.as_str().to_owned()))),
                        AllItem::Regex(_) => None,
                    })
                    .collect::<Option<_>>()?,
            ),
            // A pointer to the subquery's class whose objectId it found.
            Cond::InQuery { slot, class_name, negate } => {
                let pointers = self.answered_ids(*slot)?.iter().map(|id| Scalar::Pointer { class: class_name.clone(), id: id.clone() });
                field(if *negate { Test::Nin(pointers.collect()) } else { Test::In(pointers.collect()) })
            }
            // One of the values the subquery found, as `$in` would list them.
            Cond::Select { slot, negate } => {
                let Some(Some(Answer::Values(set))) = self.answers.get(*slot) else { return None };
                let values = scalars(set, date_field)?;
                field(if *negate { Test::Nin(values) } else { Test::In(values) })
            }
            cond => field(cond_test(cond, date_field)?),
        })
    }
}

impl Order {
    /// The order as a store's sort keys, None unless every key is a plain top-level field.
    pub fn store_order(&self) -> Option<Vec<SortField>> {
        self.0
            .iter()
            .map(|key| match key.path.as_slice() {
                [segment] if segment.index.is_none() && plain_field(&segment.name) => {
                    Some(SortField { name: segment.name.clone(), descending: key.descending })
                }
                _ => None,
            })
            .collect()
    }
}

/// A `$regex` source with its `$options` as inline flags, so that the compiled regex's own text
/// says everything it matches and a store can repeat it ([`Test::Regex`]). Options other than
/// `imxs` are refused by the caller.
pub(super) fn with_inline_flags(options: &str, pattern: &str) -> String {
    if options.is_empty() || !options.chars().all(|flag| "imxs".contains(flag)) {
        return pattern.to_owned();
    }
    format!("(?{options}){pattern}")
}

/// A field a store holds as itself: not the ACL, not an internal field, not a `$` key.
fn plain_field(name: &str) -> bool {
    !name.is_empty() && name != "ACL" && !name.starts_with('_') && !name.starts_with('$')
}

fn cond_test(cond: &Cond, date_field: bool) -> Option<Test> {
    Some(match cond {
        Cond::Eq(operand) => Test::Eq(scalar(operand, date_field)?),
        Cond::Ne(operand) => Test::Ne(scalar(operand, date_field)?),
        Cond::Compare(op, operand) => Test::Compare(comparison(*op), scalar(operand, date_field)?),
        Cond::In(set) => Test::In(scalars(set, date_field)?),
        Cond::Nin(set) => Test::Nin(scalars(set, date_field)?),
        Cond::Exists(expected) => Test::Exists(*expected),
        // `createdAt`/`updatedAt` are matched as the ISO text an object holds, not as stored.
        Cond::Regex(regex) if !date_field => Test::Regex(regex.as_str().to_owned()),
        _ => return None,
    })
}

fn comparison(op: CompareOp) -> Comparison {
    match op {
        CompareOp::Lt => Comparison::Lt,
        CompareOp::Lte => Comparison::Lte,
        CompareOp::Gt => Comparison::Gt,
        CompareOp::Gte => Comparison::Gte,
    }
}

/// A plain operand as a store value. On `createdAt`/`updatedAt` a string that is not a date
/// still compares with the stored ISO text, which a store keeping instants cannot repeat.
fn scalar(operand: &Operand, date_field: bool) -> Option<Scalar> {
    Some(match operand {
        Operand::Null => Scalar::Null,
        Operand::Bool(b) => Scalar::Bool(*b),
        Operand::Number(n) if n.is_finite() => Scalar::Number(*n),
        Operand::String(s) if !date_field => Scalar::Text(s.clone()),
        Operand::Date(ms) => Scalar::Date(*ms),
        Operand::Pointer { class_name, object_id } => Scalar::Pointer { class: class_name.clone(), id: object_id.clone() },
        Operand::Number(_) | Operand::String(_) | Operand::Other(_) => return None,
    })
}

/// The members of an `$in`/`$nin` list, None when one is not a plain value.
fn scalars(set: &ValueSet, date_field: bool) -> Option<Vec<Scalar>> {
    if !set.others.is_empty() || (date_field && !set.strings.is_empty()) {
        return None;
    }
    let mut out = Vec::new();
    if set.null {
        out.push(Scalar::Null);
    }
    for (value, present) in set.bools.iter().enumerate() {
        if *present {
            out.push(Scalar::Bool(value == 1));
        }
    }
    out.extend(set.numbers.iter().map(|bits| Scalar::Number(f64::from_bits(*bits))));
    out.extend(set.strings.iter().map(|s| Scalar::Text(s.clone())));
    out.extend(set.dates.iter().map(|ms| Scalar::Date(*ms)));
    for (id, classes) in &set.pointers {
        out.extend(classes.iter().map(|class| Scalar::Pointer { class: class.clone(), id: id.clone() }));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn filter(where_: serde_json::Value) -> Option<Filter> {
        Query::parse(&where_).unwrap().store_filter()
    }

    fn field(name: &str, test: Test) -> Filter {
        Filter::And(vec![Filter::Field { name: name.into(), test }])
    }

    #[test]
    fn plain_conditions_translate() {
        assert_eq!(filter(json!({"n": 3})), Some(Filter::And(vec![field("n", Test::Eq(Scalar::Number(3.0)))])));
        assert_eq!(
            filter(json!({"$or": [{"s": {"$ne": "a"}}, {"b": {"$exists": false}}]})),
            Some(Filter::And(vec![Filter::Or(vec![
                Filter::And(vec![field("s", Test::Ne(Scalar::Text("a".into())))]),
                Filter::And(vec![field("b", Test::Exists(false))]),
            ])]))
        );
        let owner = json!({"__type": "Pointer", "className": "_User", "objectId": "u1"});
        assert_eq!(
            filter(json!({"owner": owner})),
            Some(Filter::And(vec![field("owner", Test::Eq(Scalar::Pointer { class: "_User".into(), id: "u1".into() }))]))
        );
        assert_eq!(
            filter(json!({"createdAt": {"$gte": {"__type": "Date", "iso": "2024-01-01T00:00:00.000Z"}}})),
            Some(Filter::And(vec![field("createdAt", Test::Compare(Comparison::Gte, Scalar::Date(1_704_067_200_000)))]))
        );
        assert_eq!(filter(json!({"n": {"$in": [null]}})), Some(Filter::And(vec![field("n", Test::In(vec![Scalar::Null]))])));
    }

    #[test]
    fn anything_else_keeps_the_scan() {
        for where_ in [
            json!({"a.b": 1}),
            json!({"tags": ["x"]}),
            json!({"createdAt": {"$regex": "^2024"}}),
            json!({"tags": {"$all": [[1]]}}),
            json!({"$nor": [{"a": 1}]}),
            json!({"a": {"$in": [1, [2]]}}),
            json!({"createdAt": "not a date"}),
            json!({"ACL": {"$exists": true}}),
            json!({"_rperm": "x"}),
            json!({"a": 1, "b": {"$containedBy": [1]}}),
            json!({"p": {"$inQuery": {"className": "A", "where": {}}}}),
        ] {
            assert_eq!(filter(where_.clone()), None, "{where_}");
        }
    }

    #[test]
    fn arrays_and_regexes_translate() {
        let eq = |value: &str| Filter::Field { name: "tags".into(), test: Test::Eq(Scalar::Text(value.into())) };
        assert_eq!(filter(json!({"tags": {"$all": ["a", "b"]}})), Some(Filter::And(vec![Filter::And(vec![Filter::And(vec![eq("a"), eq("b")])])])));
        assert_eq!(filter(json!({"tags": {"$all": []}})), Some(Filter::And(vec![Filter::And(vec![Filter::Or(vec![])])])));
        assert_eq!(
            filter(json!({"s": {"$regex": "^a.", "$options": "is"}})),
            Some(Filter::And(vec![field("s", Test::Regex("(?is)^a.".into()))]))
        );
        assert_eq!(filter(json!({"s": {"$regex": "^\\Qa.\\E"}})), Some(Filter::And(vec![field("s", Test::Regex("^a\\.".into()))])));
    }

    #[test]
    fn subqueries_translate_once_answered() {
        use super::super::SubqueryAnswer;
        let where_ = json!({
            "$relatedTo": {"object": {"__type": "Pointer", "className": "Team", "objectId": "t"}, "key": "players"},
            "owner": {"$notInQuery": {"className": "_User", "where": {}}},
            "s": {"$select": {"query": {"className": "B", "where": {}}, "key": "k"}},
        });
        let mut query = Query::parse(&where_).unwrap();
        assert_eq!(query.store_filter(), None, "unanswered");
        query
            .resolve(vec![
                SubqueryAnswer::Ids(vec!["o1".into()]),
                SubqueryAnswer::Ids(vec!["u1".into()]),
                SubqueryAnswer::Values(vec![json!("v")]),
            ])
            .unwrap();
        let Some(Filter::And(parts)) = query.store_filter() else { panic!("not translated") };
        assert!(parts.contains(&Filter::Field { name: "objectId".into(), test: Test::In(vec![Scalar::Text("o1".into())]) }), "{parts:?}");
        let pointer = Scalar::Pointer { class: "_User".into(), id: "u1".into() };
        assert!(parts.contains(&field("owner", Test::Nin(vec![pointer]))), "{parts:?}");
        assert!(parts.contains(&field("s", Test::In(vec![Scalar::Text("v".into())]))), "{parts:?}");
    }

    #[test]
    fn orders_on_plain_fields_translate() {
        let order = Order::parse("-score,name").unwrap().store_order().unwrap();
        assert_eq!(order, [SortField { name: "score".into(), descending: true }, SortField { name: "name".into(), descending: false }]);
        assert_eq!(Order::parse("a.b").unwrap().store_order(), None);
        assert_eq!(Order::parse("").unwrap().store_order(), Some(vec![]));
    }
}
