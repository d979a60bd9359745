//! File triggers: cloud code's beforeSave / afterSave / beforeDelete / afterDelete of
//! `Parse.File` (`Parse.Cloud.beforeSaveFile` … in Parse Server's older names), run for uploads
//! over HTTP and from cloud code and for deletes, as Parse Server's FilesRouter runs them.
//!
//! beforeSaveFile sees the file with its bytes and may refuse it (nothing is stored), change its
//! name, metadata or tags, return another `Parse.File` to store instead, or return one already
//! saved elsewhere (then nothing is stored here and its URL is answered). The other three see
//! the stored file; an error in any of them is answered, as Parse Server answers it.
//!
//! They are registered under Parse Server's pseudo-class `@File` and have no webhook form.

use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::context::{trigger_timeout, Api, Ctx};
use crate::error::{ErrorCode, ParseError};
use crate::registry::Handler;
use crate::runtime::{Target, TriggerKind};

/// The class file triggers are registered for (Parse Server's name for `Parse.File`).
pub const FILE_CLASS: &str = "@File";

/// A file whose bytes are all in hand, on its way to the store.
#[derive(Debug)]
pub struct NewFile {
    /// The name the client gave, checked by Parse's rules (`files::filename`).
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
    pub metadata: Map<String, Value>,
    pub tags: Map<String, Value>,
}

impl NewFile {
    /// A file with no metadata or tags (a raw upload has nowhere to carry them).
    pub fn plain(name: String, content_type: String, bytes: Vec<u8>) -> NewFile {
        NewFile { name, content_type, bytes, metadata: Map::new(), tags: Map::new() }
    }

    /// The SDK's `fileData: {metadata, tags}` of a JSON upload; anything else there is ignored.
    pub fn with_file_data(mut self, body: &Map<String, Value>) -> NewFile {
        let part = |key: &str| match body.get("fileData").and_then(|data| data.get(key)) {
            Some(Value::Object(map)) => map.clone(),
            _ => Map::new(),
        };
        self.metadata = part("metadata");
        self.tags = part("tags");
        self
    }
}

/// A file that is stored (here or, when beforeSaveFile answered a saved file, elsewhere).
#[derive(Debug)]
pub struct SavedFile {
    pub name: String,
    pub url: String,
    /// Unknown for a file saved elsewhere, as in Parse Server.
    pub size: Option<u64>,
    pub metadata: Map<String, Value>,
    pub tags: Map<String, Value>,
}

/// What beforeSaveFile decided, before Parse's rules check it (`files::save`).
#[derive(Debug)]
pub enum BeforeSave {
    /// No trigger: store the file as uploaded.
    Unchanged(NewFile),
    /// The trigger answered the file to store (or one saved already); `sent` is the upload.
    Answered { sent: NewFile, answer: Box<AnsweredFile> },
}

/// Whether cloud code defined the `kind` trigger of files.
pub fn defined(api: &Api, kind: TriggerKind) -> bool {
    api.registry.trigger(FILE_CLASS, kind) == Some(Handler::CloudCode)
}

/// The file beforeSaveFile left to store, as its answer describes it (js/70_cloud.js
/// `fileAnswer`): the one it returned, else the one it was given as it left it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnsweredFile {
    pub name: Option<String>,
    /// Set for a file saved already (elsewhere): nothing is to be stored.
    pub url: Option<String>,
    pub content_type: Option<String>,
    /// Set when the bytes are the ones sent, so they need not travel back.
    #[serde(default)]
    pub same_data: bool,
    pub base64: Option<String>,
    #[serde(default)]
    pub metadata: Map<String, Value>,
    #[serde(default)]
    pub tags: Map<String, Value>,
}

/// Runs beforeSaveFile over `file`, if cloud code defined it.
pub async fn before_save(api: &Api, ctx: &Ctx, file: NewFile) -> Result<BeforeSave, ParseError> {
    if !defined(api, TriggerKind::BeforeSaveFile) {
        return Ok(BeforeSave::Unchanged(file));
    }
    let sent = json!({
        "name": file.name,
        "base64": base64::engine::general_purpose::STANDARD.encode(&file.bytes),
        "contentType": file.content_type,
        "metadata": file.metadata,
        "tags": file.tags,
    });
    let mut answer = run(api, ctx, TriggerKind::BeforeSaveFile, sent, Some(file.bytes.len() as u64)).await?;
    let answer: Box<AnsweredFile> = serde_json::from_value(answer.remove("file").unwrap_or(Value::Null))
        .map_err(|e| ParseError::new(ErrorCode::SCRIPT_FAILED, format!("beforeSaveFile answered badly: {e}")))?;
    Ok(BeforeSave::Answered { sent: file, answer })
}

/// Runs afterSaveFile over the stored `file`, if cloud code defined it.
pub async fn after_save(api: &Api, ctx: &Ctx, file: &SavedFile) -> Result<(), ParseError> {
    if !defined(api, TriggerKind::AfterSaveFile) {
        return Ok(());
    }
    let sent = json!({ "name": file.name, "url": file.url, "metadata": file.metadata, "tags": file.tags });
    run(api, ctx, TriggerKind::AfterSaveFile, sent, file.size).await.map(drop)
}

/// Runs beforeDeleteFile or afterDeleteFile (`kind`) over stored file `name`, if defined.
pub async fn on_delete(api: &Api, ctx: &Ctx, kind: TriggerKind, name: &str, url: &str) -> Result<(), ParseError> {
    if !defined(api, kind) {
        return Ok(());
    }
    run(api, ctx, kind, json!({ "name": name, "url": url }), None).await.map(drop)
}

/// Runs the `kind` file trigger with `file` (`{name, url?, base64?, contentType?, metadata?,
/// tags?}`); answers what it answered.
async fn run(api: &Api, ctx: &Ctx, kind: TriggerKind, file: Value, size: Option<u64>) -> Result<Map<String, Value>, ParseError> {
    let mut request = ctx.cloud_request(api);
    request.insert("file".into(), file);
    request.insert("fileSize".into(), json!(size));
    let request = Value::Object(request);
    let target = Target::Trigger { class_name: FILE_CLASS.to_string(), kind };
    let reply = ctx.cloud_code_runs_on.run(target, request.to_string(), trigger_timeout(api)).await.map_err(|error| {
        tracing::error!(target: "cloud", "[{kind} Parse.File] failed: {error}");
        ParseError::from(error)
    })?;
    serde_json::from_str(&reply).map_err(|e| ParseError::new(ErrorCode::SCRIPT_FAILED, format!("{kind} answered badly: {e}")))
}
