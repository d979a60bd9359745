//! A compiled `where` and `order` as a store's [`Filter`] and sort keys, for a store that
//! answers queries itself. Only what translates exactly: top-level fields of plain scalar
//! values under `$and`/`$or`, compared by equality, `$ne`, `$lt`…`$gte`, `$in`, `$nin` and
//! `$exists`. Anything else (`$nor`, regexes, arrays, geo, full text, subqueries, dotted keys,
//! the ACL and internal `_` fields) makes the whole query a scan, so no answer changes.

use super::{Cond, CompareOp, FieldNode, Node, Operand, Order, Query, ValueSet};
use crate::store::filter::{Comparison, Filter, Scalar, SortField, Test};

impl Query {
    /// The `where` as a store filter, None unless every condition translates (see the module).
    pub fn store_filter(&self) -> Option<Filter> {
        node_filter(&self.root)
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

/// A field a store holds as itself: not the ACL, not an internal field, not a `$` key.
fn plain_field(name: &str) -> bool {
    !name.is_empty() && name != "ACL" && !name.starts_with('_') && !name.starts_with('$')
}

fn node_filter(node: &Node) -> Option<Filter> {
    match node {
        Node::And(nodes) => Some(Filter::And(nodes.iter().map(node_filter).collect::<Option<_>>()?)),
        Node::Or(nodes) => Some(Filter::Or(nodes.iter().map(node_filter).collect::<Option<_>>()?)),
        Node::Nor(_) | Node::RelatedTo { .. } => None,
        Node::Field(field) => field_filter(field),
    }
}

fn field_filter(field: &FieldNode) -> Option<Filter> {
    let [segment] = field.path.as_slice() else { return None };
    if segment.index.is_some() || !plain_field(&field.key) {
        return None;
    }
    let tests = field
        .conds
        .iter()
        .map(|cond| {
            let test = cond_test(cond, field.date_field)?;
            Some(Filter::Field { name: field.key.clone(), test })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Filter::And(tests))
}

fn cond_test(cond: &Cond, date_field: bool) -> Option<Test> {
    Some(match cond {
        Cond::Eq(operand) => Test::Eq(scalar(operand, date_field)?),
        Cond::Ne(operand) => Test::Ne(scalar(operand, date_field)?),
        Cond::Compare(op, operand) => Test::Compare(comparison(*op), scalar(operand, date_field)?),
        Cond::In(set) => Test::In(scalars(set, date_field)?),
        Cond::Nin(set) => Test::Nin(scalars(set, date_field)?),
        Cond::Exists(expected) => Test::Exists(*expected),
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
            json!({"s": {"$regex": "^a"}}),
            json!({"$nor": [{"a": 1}]}),
            json!({"a": {"$in": [1, [2]]}}),
            json!({"createdAt": "not a date"}),
            json!({"ACL": {"$exists": true}}),
            json!({"_rperm": "x"}),
            json!({"a": 1, "b": {"$all": [1]}}),
            json!({"p": {"$inQuery": {"className": "A", "where": {}}}}),
        ] {
            assert_eq!(filter(where_.clone()), None, "{where_}");
        }
    }

    #[test]
    fn orders_on_plain_fields_translate() {
        let order = Order::parse("-score,name").unwrap().store_order().unwrap();
        assert_eq!(order, [SortField { name: "score".into(), descending: true }, SortField { name: "name".into(), descending: false }]);
        assert_eq!(Order::parse("a.b").unwrap().store_order(), None);
        assert_eq!(Order::parse("").unwrap().store_order(), Some(vec![]));
    }
}
