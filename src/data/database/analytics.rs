//! Aggregation and distinct values over one class (`/aggregate`, master key only), fed by the
//! store's scan and bounded by the query deadline like any query.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::{natural, Database};
use crate::data::aggregate::{self, Pipeline};
use crate::data::deadline::Deadline;
use crate::data::query::Query;
use crate::data::schema::validate_class_name;
use crate::data::DataError;
use crate::store::try_scan;

impl Database {
    /// Every object of `class` that `where_` matches, as stored, oldest first. `where_` may not hold
    /// subqueries (102): an aggregate reads one class.
    fn objects_matching(&self, class: &str, where_: &Value, deadline: &Deadline) -> Result<Vec<Arc<Map<String, Value>>>, DataError> {
        validate_class_name(class)?;
        let query = Query::parse(where_)?;
        if !query.subqueries().is_empty() {
            return Err(DataError::InvalidQuery("an aggregate's where does not take subqueries".to_owned()));
        }
        let mut out = Vec::new();
        let mut seen = 0usize;
        try_scan(self.store.as_ref(), class, DataError::from, |object| {
            if seen.is_multiple_of(crate::data::deadline::CHECK_EVERY) {
                deadline.check()?;
            }
            seen += 1;
            if query.matches(&object) {
                out.push(object);
            }
            Ok(true)
        })?;
        // MongoDB feeds a pipeline in natural (insertion) order; `$first`, `$push` and a
        // `$limit` without `$sort` answer the same way here.
        out.sort_by(|a, b| natural(a, b));
        Ok(out)
    }

    /// Runs `pipeline` over the class's objects.
    pub fn aggregate(&self, class: &str, pipeline: &Pipeline) -> Result<Vec<Value>, DataError> {
        let deadline = Deadline::after(self.settings.query_timeout);
        let objects = self.objects_matching(class, &Value::Object(Map::new()), &deadline)?;
        pipeline.run(objects, &deadline)
    }

    /// The distinct values of `field` among the objects `where_` matches.
    pub fn distinct(&self, class: &str, field: &str, where_: &Value) -> Result<Vec<Value>, DataError> {
        let deadline = Deadline::after(self.settings.query_timeout);
        let objects = self.objects_matching(class, where_, &deadline)?;
        aggregate::distinct(&objects, field, &deadline)
    }
}
