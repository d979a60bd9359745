//! `GET {mount}/aggregate/:className` (master key only, as Parse Server's AggregateRouter):
//! an aggregation `pipeline`, or the `distinct` values of a field with an optional `where`.
//! Answers `{"results": [...]}`. The SDK's `Query#aggregate`/`distinct` and the Parse
//! Dashboard's filter of unique values call it.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::context::{blocking, master_required, Api, Ctx, Reply};
use crate::data::aggregate::Pipeline;
use crate::data::DataError;
use crate::error::ParseError;

pub async fn run(api: &Arc<Api>, ctx: &Ctx, class: &str, params: Map<String, Value>) -> Result<Reply, ParseError> {
    if !ctx.master {
        return Err(master_required());
    }
    let distinct = match params.get("distinct") {
        None | Some(Value::Null) => None,
        Some(Value::String(field)) => Some(field.clone()),
        Some(_) => return Err(DataError::InvalidQuery("distinct must be a field name".to_owned()).into()),
    };
    let where_ = match params.get("where") {
        None | Some(Value::Null) => json!({}),
        Some(Value::String(text)) => serde_json::from_str(text)
            .map_err(|e| DataError::InvalidJson(format!("where is not valid JSON: {e}")))?,
        Some(other) => other.clone(),
    };
    if !where_.is_object() {
        return Err(DataError::InvalidQuery("where must be a JSON object".to_owned()).into());
    }
    let ask = match distinct {
        Some(field) => Ask::Distinct(field, where_),
        None => Ask::Pipeline(Pipeline::from_params(&params)?),
    };
    let (api, class) = (api.clone(), class.to_owned());
    blocking(move || {
        let results = match &ask {
            Ask::Distinct(field, where_) => api.db.distinct(&class, field, where_)?,
            Ask::Pipeline(pipeline) => api.db.aggregate(&class, pipeline)?,
        };
        Ok(Reply::json(&json!({ "results": results })))
    })
    .await
}

/// What an aggregate request asks: distinct values (with their `where`), or a pipeline (which
/// filters with its own `$match`, as on Parse Server).
enum Ask {
    Distinct(String, Value),
    Pipeline(Pipeline),
}
