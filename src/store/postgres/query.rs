//! [`StoreQuery`] as one SQL statement on a class table (and one `count(*)` when a count is
//! asked), giving exactly the answers a scan of the decoded rows would.
//!
//! Every value is a bound parameter with an explicit cast; identifiers are quoted. A field's
//! column kind decides how it compares: text byte-wise (`COLLATE "C"`, as Rust compares
//! strings), numbers, booleans, Dates at millisecond precision (what a decoded object holds),
//! Pointers by objectId once the class is the column's target. A value of another type never
//! equals, and a field without a column is null. A JSON column (arrays) holds a value when it
//! contains it (`@>`: an element equal to it); a `$regex` is PostgreSQL's `~` on a text column
//! once [`postgres_regex`] says the same pattern. Files and geometry are only present or not.
//! Whatever else SQL could not answer exactly (comparisons in arrays, regexes on arrays,
//! relations) makes the query a scan. The ACL is `_rperm`/`_wperm` as a decoded object's ACL
//! reads them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio_postgres::types::ToSql;

use super::columns::{date_sort_key, quoted, Kind, Table, READERS, WRITERS};
use super::patterns::postgres_regex;
use super::connections::SqlError;
use super::{params, prepare_unless_no_table, refs, PostgresStore};
use crate::store::filter::{Comparison, Filter, Page, Scalar, SortField, StoreQuery, Test};
use crate::store::{StoreError, StoreFuture};

type Param = Box<dyn ToSql + Send + Sync>;

impl PostgresStore {
    /// [`crate::store::Store::find`]: the page in one statement, the count in another.
    pub(super) fn find_page(&self, class: &str, query: &StoreQuery) -> Result<Option<Page>, StoreError> {
        let Some(mut table) = self.table(class)? else {
            return Ok(Some(Page { documents: Vec::new(), count: query.count.then_some(0) }));
        };
        // A field another node gave a column since this one cached the table would read as
        // missing: such a query looks once more.
        let mut names = Vec::new();
        field_names(&query.filter, &mut names);
        names.extend(query.order.iter().map(|key| key.name.as_str()));
        if names.iter().any(|name| !table.columns.contains_key(*name) && !table.relations.contains_key(*name)) {
            table = match self.reload_table(class)? {
                Some(table) => table,
                None => return Ok(Some(Page { documents: Vec::new(), count: query.count.then_some(0) })),
            };
        }
        let Some(page) = statement(&table, query) else { return Ok(None) };
        let count = match query.count.then(|| statement(&table, query)).flatten() {
            Some(counted) => {
                let sql = format!("SELECT count(*) FROM {} t WHERE {}", quoted(class), counted.condition);
                Some(self.count(sql, params(counted.params))?)
            }
            None => None,
        };
        let documents = if query.limit == 0 {
            Vec::new()
        } else {
            let (sql, values) = page_sql(class, page, query);
            let rows = self.connections.run(move |client| page_rows(client, sql.clone(), values.clone()))?;
            self.decode(class, rows)?
        };
        Ok(Some(Page { documents, count }))
    }

    /// [`crate::store::Store::find_awaiting`]: the page of [`PostgresStore::find_page`]
    /// awaited, when it is one statement built from the columns cached already. A count (a
    /// second statement), a class not cached, a field not among its columns or a row holding
    /// a column not among them (another node added it) is left to `find_page`, which reads
    /// the table's columns again.
    pub(super) fn find_page_awaiting<'a>(&'a self, class: &'a str, query: &'a StoreQuery) -> Option<StoreFuture<'a, Option<Page>>> {
        if query.count || query.limit == 0 {
            return None;
        }
        let table = self.cached_table(class)??;
        let mut names = Vec::new();
        field_names(&query.filter, &mut names);
        names.extend(query.order.iter().map(|key| key.name.as_str()));
        if names.iter().any(|name| !table.columns.contains_key(*name) && !table.relations.contains_key(*name)) {
            return None;
        }
        let (sql, values) = page_sql(class, statement(&table, query)?, query);
        let rows = self.connections.call(move |client| page_rows(client, sql.clone(), values.clone()));
        Some(Box::pin(async move {
            let rows = rows.await?;
            let documents = self.decode_known(class, &table, &rows)?;
            Ok(documents.map(|documents| Page { documents, count: None }))
        }))
    }

    /// Runs a `count(*)`; 0 when the table is gone.
    fn count(&self, sql: String, values: super::Params) -> Result<usize, StoreError> {
        self.connections.run(move |client| {
            let (sql, values) = (sql.clone(), values.clone());
            async move {
                bound_statement_cache(&client);
                let Some(statement) = prepare_unless_no_table(&client, &sql).await? else { return Ok(0) };
                let row = client.query_one(&statement, &refs(&values)).await?;
                Ok(usize::try_from(row.try_get::<_, i64>(0)?).unwrap_or(0))
            }
        })
    }
}

/// The page statement of `page` (its `LIMIT` and `OFFSET` appended) and its parameters.
fn page_sql(class: &str, page: Statement, query: &StoreQuery) -> (String, super::Params) {
    let Statement { condition, order, params: mut values } = page;
    let n = values.len();
    values.push(Box::new(i64::try_from(query.limit).unwrap_or(i64::MAX)));
    values.push(Box::new(i64::try_from(query.skip).unwrap_or(i64::MAX)));
    // A table without createdAt and objectId (Parse Server's `_Hooks`) and no order asked
    // has no key to sort by.
    let order_by = if order.is_empty() { String::new() } else { format!(" ORDER BY {order}") };
    // The page is cut in a subquery and only its rows become JSON: PostgreSQL would otherwise
    // build the JSON of every matching row before the sort picks the page.
    let sql = format!(
        "SELECT to_jsonb(t)::text FROM (SELECT * FROM {} t WHERE {condition}{order_by} LIMIT ${}::bigint OFFSET ${}::bigint) t{order_by}",
        quoted(class),
        n + 1,
        n + 2
    );
    (sql, params(values))
}

/// The rows of a page statement as JSON text; none when the table is gone.
async fn page_rows(client: deadpool_postgres::Object, sql: String, values: super::Params) -> Result<Vec<String>, SqlError> {
    bound_statement_cache(&client);
    let Some(statement) = prepare_unless_no_table(&client, &sql).await? else { return Ok(Vec::new()) };
    let rows = client.query(&statement, &refs(&values)).await?;
    Ok(rows.iter().map(|row| row.try_get::<_, String>(0)).collect::<Result<Vec<_>, _>>()?)
}

/// Prepared statements a connection keeps before it forgets them all. Each `where` shape is a
/// statement of its own, and clients choose the shapes: without a bound a connection's cache
/// (and the server's prepared statements) would grow with every new one.
const MAX_CACHED_STATEMENTS: usize = 256;

fn bound_statement_cache(client: &deadpool_postgres::Object) {
    if client.statement_cache.size() >= MAX_CACHED_STATEMENTS {
        client.statement_cache.clear();
    }
}

/// The fields `filter` names.
fn field_names<'a>(filter: &'a Filter, out: &mut Vec<&'a str>) {
    match filter {
        Filter::And(parts) | Filter::Or(parts) => parts.iter().for_each(|part| field_names(part, out)),
        Filter::Field { name, .. } => out.push(name),
    }
}

/// The SQL of a query: the `WHERE` and `ORDER BY` clauses over the table aliased `t`, and their
/// parameters (`$1`…), to which the caller appends its `LIMIT`/`OFFSET`.
pub struct Statement {
    pub condition: String,
    pub order: String,
    pub params: Vec<Param>,
}

/// How one field compares in SQL; `None` kind: the table has no column for it (always null).
struct Column {
    /// The column as it orders and compares by range (text byte-wise).
    sql: String,
    /// The column as equality tests it: text without the byte-wise collation, which changes
    /// nothing for equality (the database's collation is deterministic) and lets PostgreSQL use
    /// the column's indexes, built in that collation.
    equal: String,
    /// The column as `ORDER BY` sorts it: as `sql`, but a Date in the form an index can hold.
    sort: String,
    kind: Option<Kind>,
}

/// A scalar as a parameter of the column's type, or None when no stored value of that column
/// can equal or order with it.
enum Bound {
    Param(Param, &'static str),
    Never,
}

/// The statement for `query` on `table`, None when some field cannot be compared in SQL exactly.
pub fn statement(table: &Table, query: &StoreQuery) -> Option<Statement> {
    if !bindable(&query.filter) {
        return None;
    }
    let mut builder = Builder { table, params: Vec::new() };
    let mut condition = builder.filter(&query.filter)?;
    if let Some(readers) = &query.readers {
        condition = format!("({condition}) AND {}", builder.readable(readers));
    }
    let order = builder.order(&query.order)?;
    Some(Statement { condition, order, params: builder.params })
}

struct Builder<'a> {
    table: &'a Table,
    params: Vec<Param>,
}

impl Builder<'_> {
    fn push(&mut self, param: Param, cast: &str) -> String {
        self.params.push(param);
        format!("${}::{cast}", self.params.len())
    }

    fn column(&self, name: &str) -> Option<Column> {
        if self.table.relations.contains_key(name) {
            return None;
        }
        let Some(kind) = self.table.columns.get(name) else {
            return Some(Column { sql: "NULL".to_owned(), equal: "NULL".to_owned(), sort: "NULL".to_owned(), kind: None });
        };
        let column = format!("t.{}", quoted(name));
        let equal = match kind {
            Kind::Date => format!("date_trunc('milliseconds', {column})"),
            _ => column.clone(),
        };
        let sort = if *kind == Kind::Date { date_sort_key(&column) } else { String::new() };
        let sql = match kind {
            Kind::Text | Kind::Pointer(_) => format!("{column} COLLATE \"C\""),
            Kind::Date => format!("date_trunc('milliseconds', {column})"),
            Kind::Number | Kind::Boolean | Kind::Json | Kind::TextArray | Kind::File | Kind::GeoPoint | Kind::Polygon => column,
        };
        let sort = if sort.is_empty() { sql.clone() } else { sort };
        Some(Column { sql, equal, sort, kind: Some(kind.clone()) })
    }

    fn filter(&mut self, filter: &Filter) -> Option<String> {
        Some(match filter {
            Filter::And(parts) if parts.is_empty() => "TRUE".to_owned(),
            Filter::Or(parts) if parts.is_empty() => "FALSE".to_owned(),
            Filter::And(parts) => joined(parts.iter().map(|part| self.filter(part)).collect::<Option<_>>()?, " AND "),
            Filter::Or(parts) => joined(parts.iter().map(|part| self.filter(part)).collect::<Option<_>>()?, " OR "),
            Filter::Field { name, test } => {
                let column = self.column(name)?;
                match column.kind {
                    Some(Kind::Json) => self.json_test(&column.equal, test)?,
                    Some(Kind::TextArray) => match test {
                        Test::Exists(expected) => format!("{} IS {}NULL", column.equal, if *expected { "NOT " } else { "" }),
                        _ => return None,
                    },
                    _ => self.test(&column, test)?,
                }
            }
        })
    }

    fn bound(&self, kind: Option<&Kind>, value: &Scalar) -> Bound {
        match (kind, value) {
            (Some(Kind::Text), Scalar::Text(s)) => Bound::Param(Box::new(s.clone()), "text"),
            (Some(Kind::Number), Scalar::Number(n)) => Bound::Param(Box::new(*n), "double precision"),
            (Some(Kind::Boolean), Scalar::Bool(b)) => Bound::Param(Box::new(*b), "boolean"),
            (Some(Kind::Date), Scalar::Date(ms)) => Bound::Param(Box::new(instant(*ms)), "timestamptz"),
            (Some(Kind::Pointer(target)), Scalar::Pointer { class, id }) if class == target => {
                Bound::Param(Box::new(id.clone()), "text")
            }
            _ => Bound::Never,
        }
    }

    /// The test as SQL that is never NULL where it is negated, so that `NOT` means "does not
    /// match" as it does on a scan; None when SQL cannot say it.
    fn test(&mut self, column: &Column, test: &Test) -> Option<String> {
        let (sql, equal) = (&column.sql, &column.equal);
        Some(match test {
            Test::Exists(true) | Test::Ne(Scalar::Null) => format!("{equal} IS NOT NULL"),
            Test::Exists(false) | Test::Eq(Scalar::Null) => format!("{equal} IS NULL"),
            Test::Eq(value) => match self.bound(column.kind.as_ref(), value) {
                Bound::Param(param, cast) => format!("{equal} = {}", self.push(param, cast)),
                Bound::Never => "FALSE".to_owned(),
            },
            Test::Ne(value) => match self.bound(column.kind.as_ref(), value) {
                Bound::Param(param, cast) => format!("{equal} IS DISTINCT FROM {}", self.push(param, cast)),
                Bound::Never => "TRUE".to_owned(),
            },
            Test::Compare(op, Scalar::Null) => match op {
                Comparison::Lte | Comparison::Gte => format!("{sql} IS NULL"),
                Comparison::Lt | Comparison::Gt => "FALSE".to_owned(),
            },
            Test::Compare(_, Scalar::Bool(_) | Scalar::Pointer { .. }) => "FALSE".to_owned(),
            Test::Compare(op, value) => match self.bound(column.kind.as_ref(), value) {
                Bound::Param(param, cast) => {
                    let op = match op {
                        Comparison::Lt => "<",
                        Comparison::Lte => "<=",
                        Comparison::Gt => ">",
                        Comparison::Gte => ">=",
                    };
                    format!("{sql} {op} {}", self.push(param, cast))
                }
                Bound::Never => "FALSE".to_owned(),
            },
            Test::Regex(pattern) => return self.regex_test(column, pattern),
            Test::In(values) => {
                let (null, any) = self.any(column, values);
                match (null, any) {
                    (true, Some(any)) => format!("({equal} IS NULL OR {any})"),
                    (true, None) => format!("{equal} IS NULL"),
                    (false, Some(any)) => any,
                    (false, None) => "FALSE".to_owned(),
                }
            }
            Test::Nin(values) => {
                let (null, any) = self.any(column, values);
                match (null, any) {
                    (true, Some(any)) => format!("({equal} IS NOT NULL AND NOT {any})"),
                    (true, None) => format!("{equal} IS NOT NULL"),
                    (false, Some(any)) => format!("({equal} IS NULL OR NOT {any})"),
                    (false, None) => "TRUE".to_owned(),
                }
            }
        })
    }

    /// A `$regex` on a column other than JSON: on text, PostgreSQL's `~` with the same
    /// pattern; a Date column's `createdAt` is text to the scan, so it declines; any other kind
    /// holds no string, so nothing matches.
    fn regex_test(&mut self, column: &Column, pattern: &str) -> Option<String> {
        match column.kind {
            Some(Kind::Text) => {
                let pattern = self.push(Box::new(postgres_regex(pattern)?), "text");
                Some(format!("({0} IS NOT NULL AND {0} ~ {pattern})", column.equal))
            }
            Some(Kind::Date) => None,
            _ => Some("FALSE".to_owned()),
        }
    }

    /// A test on a JSON column (an Array, an Object, Bytes), as the scan matches the decoded
    /// value: JSON null reads as a missing field; an equality holds for an array with an equal
    /// element (or a value equal itself, as a Pointer in an Object field); comparisons other
    /// than with null, and regexes, decline.
    fn json_test(&mut self, column: &str, test: &Test) -> Option<String> {
        let missing = format!("({column} IS NULL OR {column} = 'null'::jsonb)");
        Some(match test {
            Test::Exists(true) => format!("NOT {missing}"),
            Test::Exists(false) => missing,
            Test::Eq(value) => self.json_holds(column, &missing, std::slice::from_ref(value))?,
            Test::Ne(value) => format!("NOT {}", self.json_holds(column, &missing, std::slice::from_ref(value))?),
            Test::In(values) => self.json_holds(column, &missing, values)?,
            Test::Nin(values) => format!("NOT {}", self.json_holds(column, &missing, values)?),
            Test::Compare(Comparison::Lte | Comparison::Gte, Scalar::Null) => self.json_holds(column, &missing, &[Scalar::Null])?,
            Test::Compare(Comparison::Lt | Comparison::Gt, Scalar::Null) => "FALSE".to_owned(),
            Test::Compare(..) | Test::Regex(_) => return None,
        })
    }

    /// Whether the JSON column equals one of `values` as the scan's `$in` does, never NULL.
    /// `@>` on an array with a plain value holds for an element equal to it; a pointer is
    /// matched by its class and objectId, whole or as an element.
    fn json_holds(&mut self, column: &str, missing: &str, values: &[Scalar]) -> Option<String> {
        let mut candidates = Vec::new();
        for value in values {
            match value {
                Scalar::Null => candidates.push("null".to_owned()),
                Scalar::Bool(b) => candidates.push(b.to_string()),
                Scalar::Number(n) => candidates.push(serde_json::json!(n).to_string()),
                Scalar::Text(s) => candidates.push(serde_json::Value::String(s.clone()).to_string()),
                Scalar::Pointer { class, id } => {
                    for kind in ["Pointer", "Object"] {
                        let pointer = serde_json::json!({"__type": kind, "className": class, "objectId": id});
                        candidates.push(pointer.to_string());
                        candidates.push(serde_json::json!([pointer]).to_string());
                    }
                }
                // Dates in arrays are ISO text, which may spell one instant several ways.
                Scalar::Date(_) => return None,
            }
        }
        let null = values.contains(&Scalar::Null);
        if candidates.is_empty() {
            return Some("FALSE".to_owned());
        }
        let list = self.push(Box::new(candidates), "text[]");
        let contains = format!("COALESCE({column} @> ANY({list}::jsonb[]), FALSE)");
        Some(if null { format!("({missing} OR {contains})") } else { contains })
    }

    /// Whether `values` hold null, and `column = ANY(…)` of those of the column's type (None
    /// when there are none). On a non-null column the `ANY` is never NULL: no member is.
    fn any(&mut self, column: &Column, values: &[Scalar]) -> (bool, Option<String>) {
        let null = values.contains(&Scalar::Null);
        let mut texts = Vec::new();
        let mut numbers = Vec::new();
        let mut bools = Vec::new();
        let mut dates = Vec::new();
        for value in values {
            match (column.kind.as_ref(), value) {
                (Some(Kind::Text), Scalar::Text(s)) => texts.push(s.clone()),
                (Some(Kind::Pointer(target)), Scalar::Pointer { class, id }) if class == target => texts.push(id.clone()),
                (Some(Kind::Number), Scalar::Number(n)) => numbers.push(*n),
                (Some(Kind::Boolean), Scalar::Bool(b)) => bools.push(*b),
                (Some(Kind::Date), Scalar::Date(ms)) => dates.push(instant(*ms)),
                _ => {}
            }
        }
        let list = if !texts.is_empty() {
            self.push(Box::new(texts), "text[]")
        } else if !numbers.is_empty() {
            self.push(Box::new(numbers), "double precision[]")
        } else if !bools.is_empty() {
            self.push(Box::new(bools), "boolean[]")
        } else if !dates.is_empty() {
            self.push(Box::new(dates), "timestamptz[]")
        } else {
            return (null, None);
        };
        (null, Some(format!("({} = ANY({list}))", column.equal)))
    }

    /// Rows whose ACL lets one of `readers` read them, as a decoded object's ACL does: no ACL
    /// at all (both columns null) lets everyone read.
    fn readable(&mut self, readers: &[String]) -> String {
        let has = |name: &str| self.table.columns.contains_key(name);
        let (read, write) = (has(READERS), has(WRITERS));
        let no_acl = match (read, write) {
            (true, true) => format!("(t.{} IS NULL AND t.{} IS NULL)", quoted(READERS), quoted(WRITERS)),
            (true, false) => format!("t.{} IS NULL", quoted(READERS)),
            (false, true) => format!("t.{} IS NULL", quoted(WRITERS)),
            (false, false) => return "TRUE".to_owned(),
        };
        if !read {
            return no_acl;
        }
        let list = self.push(Box::new(readers.to_vec()), "text[]");
        format!("({no_acl} OR t.{} && {list})", quoted(READERS))
    }

    /// `ORDER BY` keys, missing values first ascending, then the natural order.
    fn order(&self, order: &[SortField]) -> Option<String> {
        let mut keys = Vec::new();
        for field in order {
            let column = self.column(&field.name)?;
            match column.kind {
                None => continue,
                // The scan orders these by their decoded JSON, which SQL does not repeat.
                Some(Kind::Json | Kind::TextArray | Kind::File | Kind::GeoPoint | Kind::Polygon) => return None,
                Some(_) => {}
            }
            keys.push(format!("{} {}", column.sort, if field.descending { "DESC NULLS LAST" } else { "ASC NULLS FIRST" }));
        }
        for natural in ["createdAt", "objectId"] {
            let column = self.column(natural)?;
            if column.kind.is_some() {
                keys.push(format!("{} ASC NULLS FIRST", column.sort));
            }
        }
        Some(keys.join(", "))
    }
}

/// Whether every value of `filter` can be a parameter: PostgreSQL text holds no NUL byte, and
/// its timestamps span 4713 BC to 294276 AD.
fn bindable(filter: &Filter) -> bool {
    let scalar = |value: &Scalar| match value {
        Scalar::Text(s) | Scalar::Pointer { id: s, .. } => !s.contains('\0'),
        Scalar::Date(ms) => (EARLIEST_MS..=LATEST_MS).contains(ms),
        Scalar::Null | Scalar::Bool(_) | Scalar::Number(_) => true,
    };
    match filter {
        Filter::And(parts) | Filter::Or(parts) => parts.iter().all(bindable),
        Filter::Field { test, .. } => match test {
            Test::Eq(value) | Test::Ne(value) | Test::Compare(_, value) => scalar(value),
            Test::In(values) | Test::Nin(values) => values.iter().all(scalar),
            Test::Exists(_) => true,
            Test::Regex(pattern) => !pattern.contains('\0'),
        },
    }
}

/// Instants well inside PostgreSQL's `timestamptz` range, in milliseconds since the epoch.
const EARLIEST_MS: i64 = -200_000_000_000_000;
const LATEST_MS: i64 = 9_000_000_000_000_000;

fn joined(parts: Vec<String>, separator: &str) -> String {
    format!("({})", parts.join(separator))
}

/// Milliseconds since the epoch as the instant PostgreSQL's `timestamptz` binds.
fn instant(ms: i64) -> SystemTime {
    let offset = Duration::from_millis(ms.unsigned_abs());
    if ms >= 0 {
        UNIX_EPOCH + offset
    } else {
        UNIX_EPOCH - offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        let columns = [
            ("objectId", Kind::Text),
            ("createdAt", Kind::Date),
            ("n", Kind::Number),
            ("s", Kind::Text),
            ("owner", Kind::Pointer("_User".into())),
            ("tags", Kind::Json),
            (READERS, Kind::TextArray),
            (WRITERS, Kind::TextArray),
        ];
        Table { columns: columns.into_iter().map(|(n, k)| (n.to_owned(), k)).collect(), relations: Default::default() }
    }

    fn query(filter: Filter) -> StoreQuery {
        StoreQuery { filter, readers: None, order: Vec::new(), skip: 0, limit: 10, count: false }
    }

    fn field(name: &str, test: Test) -> Filter {
        Filter::Field { name: name.into(), test }
    }

    #[test]
    fn values_are_bound_and_types_that_never_match_are_constants() {
        let filter = Filter::And(vec![
            field("n", Test::Compare(Comparison::Gt, Scalar::Number(1.0))),
            field("s", Test::Eq(Scalar::Number(1.0))),
            field("s", Test::Ne(Scalar::Bool(true))),
            field("gone", Test::Eq(Scalar::Null)),
        ]);
        let sql = statement(&table(), &query(filter)).unwrap();
        assert_eq!(sql.condition, "(t.\"n\" > $1::double precision AND FALSE AND TRUE AND NULL IS NULL)");
        assert_eq!(sql.params.len(), 1);
        assert_eq!(sql.order, "date_trunc('milliseconds', t.\"createdAt\" AT TIME ZONE 'UTC') ASC NULLS FIRST, t.\"objectId\" COLLATE \"C\" ASC NULLS FIRST");
    }

    #[test]
    fn negations_admit_missing_fields_and_the_acl_is_checked() {
        let filter = Filter::Or(vec![
            field("n", Test::Nin(vec![Scalar::Number(1.0), Scalar::Text("x".into())])),
            field("owner", Test::In(vec![Scalar::Null, Scalar::Pointer { class: "_User".into(), id: "u".into() }])),
        ]);
        let mut query = query(filter);
        query.readers = Some(vec!["*".into()]);
        let sql = statement(&table(), &query).unwrap();
        assert_eq!(
            sql.condition,
            "(((t.\"n\" IS NULL OR NOT (t.\"n\" = ANY($1::double precision[]))) OR (t.\"owner\" IS NULL OR (t.\"owner\" = ANY($2::text[]))))) \
             AND ((t.\"_rperm\" IS NULL AND t.\"_wperm\" IS NULL) OR t.\"_rperm\" && $3::text[])"
        );
    }

    #[test]
    fn values_postgresql_cannot_hold_are_not_pushed_down() {
        assert!(statement(&table(), &query(field("s", Test::Eq(Scalar::Text("a\0".into()))))).is_none());
        assert!(statement(&table(), &query(field("createdAt", Test::Eq(Scalar::Date(LATEST_MS + 1))))).is_none());
    }

    #[test]
    fn array_fields_are_tested_by_containment() {
        let sql = statement(&table(), &query(field("tags", Test::In(vec![Scalar::Null, Scalar::Text("a".into())])))).unwrap();
        assert_eq!(
            sql.condition,
            "((t.\"tags\" IS NULL OR t.\"tags\" = 'null'::jsonb) OR COALESCE(t.\"tags\" @> ANY($1::text[]::jsonb[]), FALSE))"
        );
        let sql = statement(&table(), &query(field("s", Test::Regex("(?i)a".into())))).unwrap();
        assert_eq!(sql.condition, "(t.\"s\" IS NOT NULL AND t.\"s\" ~ $1::text)");
        assert!(statement(&table(), &query(field("s", Test::Regex("\\bx".into())))).is_none());
    }

    #[test]
    fn comparisons_in_arrays_and_relations_are_not_pushed_down() {
        assert!(statement(&table(), &query(field("tags", Test::Compare(Comparison::Gt, Scalar::Number(1.0))))).is_none());
        assert!(statement(&table(), &query(field("tags", Test::Regex("a".into())))).is_none());
        let mut with_relation = table();
        with_relation.relations.insert("fans".into(), "_User".into());
        assert!(statement(&with_relation, &query(field("fans", Test::Exists(true)))).is_none());
        let mut ordered = query(Filter::And(vec![]));
        ordered.order = vec![SortField { name: "tags".into(), descending: false }];
        assert!(statement(&table(), &ordered).is_none());
    }
}
