//! A query a store may answer itself (a shared database in one SQL statement) instead of being
//! scanned: conditions on plain top-level fields, the readers an ACL must admit, an order, a
//! page and a count. Backend neutral and free of Parse's query language: the data layer
//! translates a `where` into it only when every condition fits, and a store that cannot answer
//! one says so, so the caller scans as before.
//!
//! Semantics are the scan's, on stored objects: a missing field is null; an equality or
//! comparison whose value is not of the field's stored type never holds (its negation always
//! does); `Ne`/`Nin` hold for a missing field unless the value (list) names null; on an array
//! field an equality (and `In`) holds when an element is equal, as MongoDB's do.

/// A value a condition compares a field with.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Null,
    Bool(bool),
    /// Finite only.
    Number(f64),
    Text(String),
    /// A Parse Date (or `createdAt`/`updatedAt`) as milliseconds since the Unix epoch.
    Date(i64),
    /// A Pointer: equal only to a pointer to the same class and object.
    Pointer { class: String, id: String },
}

/// An ordering comparison; it never holds across types, and against null only `Lte`/`Gte`
/// (for a missing field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Lt,
    Lte,
    Gt,
    Gte,
}

/// What one condition asks of its field.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    Eq(Scalar),
    Ne(Scalar),
    Compare(Comparison, Scalar),
    /// Equal to one of the values (`Null` among them admits a missing field).
    In(Vec<Scalar>),
    /// Equal to none of them.
    Nin(Vec<Scalar>),
    /// Whether the field is present.
    Exists(bool),
    /// A String matching the pattern, in the `regex` crate's syntax with its options as
    /// inline flags (`(?i)…`); a store that cannot say the same pattern declines the query.
    Regex(String),
}

/// Conditions combined.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Every part holds (none: everything matches).
    And(Vec<Filter>),
    /// Some part holds (none: nothing matches).
    Or(Vec<Filter>),
    Field { name: String, test: Test },
}

/// One key of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortField {
    pub name: String,
    pub descending: bool,
}

/// A query for [`crate::store::Store::find`].
#[derive(Debug, Clone, PartialEq)]
pub struct StoreQuery {
    pub filter: Filter,
    /// The principals an object's ACL must let read it (`*`, the user's id, `role:<name>`);
    /// None reads everything (the master key).
    pub readers: Option<Vec<String>>,
    /// Missing values first when ascending, last when descending; ties (and an empty order)
    /// go by the natural order: `createdAt`, then `objectId`, ascending.
    pub order: Vec<SortField>,
    pub skip: usize,
    pub limit: usize,
    /// Whether to count every match as well (past the page).
    pub count: bool,
}

/// A store's answer to a [`StoreQuery`]: the page, in order, and the count when asked.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub documents: Vec<std::sync::Arc<super::Document>>,
    pub count: Option<usize>,
}
