//! The Cloud Code viewer's routes (master key): `GET /releases/latest` lists the loaded
//! release's files with their checksums, `GET /scripts/:path` serves one file's source. Parse
//! Server never served these (its dashboard page stays empty); cloudrt answers in the shape
//! Parse.com used and the dashboard still reads: `checksums` and `userFiles` as JSON strings
//! of `{"cloud": {path: …}}`.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::context::{master_required, Api, Ctx, Reply};
use crate::error::ParseError;

/// `GET /releases/latest`: `[{version, parseVersion, timestamp, checksums, userFiles}]`.
pub fn latest(api: &Arc<Api>, ctx: &Ctx) -> Result<Reply, ParseError> {
    if !ctx.master {
        return Err(master_required());
    }
    let release = api.code_viewer.current();
    let version = release.version.to_string();
    let checksums: Map<String, Value> = release.files.iter().map(|(path, f)| (path.clone(), Value::String(f.checksum.clone()))).collect();
    let versions: Map<String, Value> = release.files.keys().map(|path| (path.clone(), Value::String(version.clone()))).collect();
    Ok(Reply::json(&json!([{
        "version": release.version,
        "parseVersion": env!("CARGO_PKG_VERSION"),
        "timestamp": release.loaded_at,
        "checksums": json!({ "cloud": checksums }).to_string(),
        "userFiles": json!({ "cloud": versions }).to_string(),
    }])))
}

/// `GET /scripts/:path[?checksum=…]`: the file's source, as a JSON string.
pub fn script(api: &Arc<Api>, ctx: &Ctx, segments: &[&str], params: &Map<String, Value>) -> Result<Reply, ParseError> {
    if !ctx.master {
        return Err(master_required());
    }
    let path = segments
        .iter()
        .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    let release = api.code_viewer.current();
    let file = release.script(&path, params.get("checksum").and_then(Value::as_str))?;
    Ok(Reply::json(&Value::String(file.source.clone())))
}
