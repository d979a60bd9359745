//! `{mount}/files`: Parse files as Parse Server serves them. The rules live here (names, who may
//! upload, the stored name, the URL handed out, the answers and their codes); moving the bytes
//! between the socket and the disk, which never holds a raw upload whole in memory, is
//! `http::files`.

use std::sync::Arc;

use base64::Engine;
use serde_json::{json, Map, Value};
use tokio::io::AsyncReadExt;

use super::context::{Api, Ctx, Reply};
use super::file_triggers::{self, AnsweredFile, BeforeSave, SavedFile};
pub use super::file_triggers::NewFile;
use crate::error::{ErrorCode, ParseError};
use crate::runtime::TriggerKind;
use crate::store::files::MAX_CONTENT_TYPE;

/// Parse's longest file name (FilesAdapter `validateFilename`).
const MAX_FILENAME: usize = 128;
/// Hex digits of the random prefix that makes every stored name unique (Parse: 32).
const PREFIX_DIGITS: usize = 32;

/// A file route, found before the body is read: uploads are streamed and downloads need no
/// application id, so neither goes through the JSON route table.
#[derive(Debug, PartialEq, Eq)]
pub enum FileRoute<'a> {
    /// `POST files/:filename` (the name as sent, still percent-encoded; it may hold a `/`).
    Upload(&'a str),
    /// `GET files/:appId/:name`.
    Download { app_id: &'a str, name: &'a str },
}

impl<'a> FileRoute<'a> {
    pub fn of(method: &str, route: &'a str) -> Option<FileRoute<'a>> {
        let rest = route.strip_prefix("files/")?;
        match method {
            "POST" => Some(FileRoute::Upload(rest)),
            "GET" => {
                let (app_id, name) = rest.split_once('/')?;
                Some(FileRoute::Download { app_id, name })
            }
            _ => None,
        }
    }
}

/// The file name a client sent, percent-decoded and checked by Parse's rules: 122 when it is
/// too long or holds anything but letters, digits and `@. ~_-` (so never a `/` or `..`).
pub fn filename(raw: &str) -> Result<String, ParseError> {
    let invalid = || ParseError::new(ErrorCode::INVALID_FILE_NAME, "Filename contains invalid characters.");
    let name = percent_decode(raw).ok_or_else(invalid)?;
    if name.len() > MAX_FILENAME {
        return Err(ParseError::new(ErrorCode::INVALID_FILE_NAME, "Filename too long."));
    }
    if !valid_chars(&name) {
        return Err(invalid());
    }
    Ok(name)
}

/// Parse's `/^[_a-zA-Z0-9][a-zA-Z0-9@. ~_-]*$/`.
fn valid_chars(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c == '_' || c.is_ascii_alphanumeric());
    first_ok && chars.all(|c| c.is_ascii_alphanumeric() || "@. ~_-".contains(c))
}

/// A stored name from a URL, or `None` when it cannot be one (then nothing is looked up).
pub fn stored_name(raw: &str) -> Option<String> {
    let name = percent_decode(raw)?;
    let valid = name.len() <= PREFIX_DIGITS + 1 + MAX_FILENAME + 16 && valid_chars(&name);
    valid.then_some(name)
}

/// Parse Server 8's `fileUpload` defaults: the master key and logged-in users may upload; the
/// public only with `--file-upload-public`.
pub fn may_upload(api: &Api, master: bool, has_user: bool) -> Result<(), ParseError> {
    if master || has_user || api.config.files.public_upload {
        return Ok(());
    }
    Err(ParseError::new(ErrorCode::FILE_SAVE_ERROR, "File upload by public is disabled.").with_status(403))
}

/// The type a file is stored and served with: the one the client sent, else the one its
/// extension names, else `application/octet-stream`. 130 for one that is not a single short
/// line of visible characters (it is written into a header line and sent back as a header).
pub fn content_type(name: &str, given: Option<&str>) -> Result<String, ParseError> {
    let given = given.map(str::trim).filter(|t| !t.is_empty());
    if let Some(given) = given {
        if given.len() > MAX_CONTENT_TYPE || !given.bytes().all(|b| (b' '..=b'~').contains(&b)) {
            return Err(ParseError::new(ErrorCode::FILE_SAVE_ERROR, "Invalid Content-Type."));
        }
        return Ok(given.to_string());
    }
    let extension = name.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()).unwrap_or_default();
    let guessed = KNOWN_TYPES.iter().find(|(ext, _)| *ext == extension).map(|(_, t)| *t);
    Ok(guessed.unwrap_or("application/octet-stream").to_string())
}

/// Extensions and types both ways: the type of an unnamed upload, and the extension Parse adds
/// to a name that has none.
const KNOWN_TYPES: &[(&str, &str)] = &[
    ("txt", "text/plain"),
    ("html", "text/html"),
    ("css", "text/css"),
    ("csv", "text/csv"),
    ("js", "text/javascript"),
    ("json", "application/json"),
    ("pdf", "application/pdf"),
    ("zip", "application/zip"),
    ("xml", "application/xml"),
    ("png", "image/png"),
    ("jpeg", "image/jpeg"),
    ("jpg", "image/jpeg"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("svg", "image/svg+xml"),
    ("mp3", "audio/mpeg"),
    ("mp4", "video/mp4"),
    ("bin", "application/octet-stream"),
];

/// The unique name a new file is stored under: Parse's random hex and `_` before the name, and
/// the extension of its type when the name has none (as Parse's FilesController adds it).
pub fn new_stored_name(name: &str, content_type: &str) -> String {
    let mut name = name.to_string();
    if !name.contains('.') {
        let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if let Some((ext, _)) = KNOWN_TYPES.iter().find(|(_, t)| *t == essence) {
            name = format!("{name}.{ext}");
        }
    }
    format!("{:0width$x}_{name}", rand::random::<u128>(), width = PREFIX_DIGITS)
}

/// Where a stored file is served: `{server}/files/{appId}/{name}` as Parse's adapters build it,
/// `{server}` being `--public-server-url`, else this server as the request reached it.
pub fn url(api: &Api, host: Option<&str>, name: &str) -> String {
    let server = match &api.config.files.public_server_url {
        Some(url) => url.clone(),
        None => format!("http://{}{}", host.unwrap_or(&format!("{}:{}", api.config.host, api.config.port)), api.config.mount),
    };
    format!("{server}/files/{}/{}", api.config.keys.app_id, encode(name))
}

/// 201 `{url, name}` with the url as `Location`.
pub fn saved(url: String, name: &str) -> Reply {
    Reply::created(json!({ "url": url, "name": name }).to_string(), url)
}

/// 130 for an upload with no bytes.
pub fn empty_upload() -> ParseError {
    ParseError::new(ErrorCode::FILE_SAVE_ERROR, "Invalid file upload.")
}

/// 130 with 413 for an upload past `--max-file-size`.
pub fn too_large(limit: u64) -> ParseError {
    ParseError::new(ErrorCode::FILE_SAVE_ERROR, format!("The file is larger than {limit} bytes (--max-file-size)."))
        .with_status(413)
}

/// 130 when the bytes could not be stored (the disk refused them).
pub fn not_stored(name: &str, cause: impl std::fmt::Display) -> ParseError {
    tracing::error!("could not store file {name}: {cause}");
    ParseError::new(ErrorCode::FILE_SAVE_ERROR, format!("Could not store file: {name}."))
}

/// 403 (code 119) for a download URL naming another application.
pub fn wrong_app() -> ParseError {
    ParseError::new(ErrorCode::OPERATION_FORBIDDEN, "Invalid application ID.").with_status(403)
}

pub fn not_found() -> ParseError {
    ParseError::new(ErrorCode::OBJECT_NOT_FOUND, "File not found.")
}

/// `POST files` with no name.
pub fn no_name() -> ParseError {
    ParseError::new(ErrorCode::INVALID_FILE_NAME, "Filename not provided.")
}

/// `DELETE files/:name`: the master key only (403, as Parse's `enforceMasterKeyAccess`), 153
/// when there is no such file or it could not be removed. beforeDeleteFile may refuse it;
/// both delete triggers run whether the file exists or not, as in Parse Server.
pub async fn delete(api: &Arc<Api>, ctx: &Ctx, raw: &str) -> Result<Reply, ParseError> {
    if !ctx.master {
        return Err(ParseError::new(ErrorCode::OPERATION_FORBIDDEN, "unauthorized: master key is required").with_status(403));
    }
    let failed = || ParseError::new(ErrorCode::FILE_DELETE_ERROR, "Could not delete file.");
    let name = stored_name(raw).ok_or_else(failed)?;
    let location = url(api, None, &name);
    file_triggers::on_delete(api, ctx, TriggerKind::BeforeDeleteFile, &name, &location).await?;
    match api.files.delete(&name).await {
        Ok(true) => {}
        Ok(false) => return Err(failed()),
        Err(e) => {
            tracing::error!("could not delete file {name}: {e}");
            return Err(failed());
        }
    }
    file_triggers::on_delete(api, ctx, TriggerKind::AfterDeleteFile, &name, &location).await?;
    Ok(Reply::ok("{}"))
}

/// 130 for no bytes, 130 with 413 for more than `--max-file-size`.
pub fn check_size(api: &Api, len: u64) -> Result<(), ParseError> {
    let limit = api.config.files.max_file_size;
    if len > limit {
        return Err(too_large(limit));
    }
    if len == 0 {
        return Err(empty_upload());
    }
    Ok(())
}

/// Saves a file whose bytes are all in hand through the file triggers and answers `{url,
/// name}`: the end of every upload form but a raw one without beforeSaveFile (the SDK's base64
/// JSON, cloud code's `Parse.File#save`, a raw upload that beforeSaveFile must see whole).
pub async fn save(api: &Api, ctx: &Ctx, host: Option<&str>, file: NewFile) -> Result<Reply, ParseError> {
    check_size(api, file.bytes.len() as u64)?;
    let outcome = match file_triggers::before_save(api, ctx, file).await? {
        BeforeSave::Unchanged(file) => Outcome::Store(file),
        BeforeSave::Answered { sent, answer } => answered_file(sent, *answer)?,
    };
    let saved_file = match outcome {
        Outcome::SavedElsewhere(saved) => saved,
        Outcome::Store(file) => {
            let stored = store_bytes(api, &file.name, &file.content_type, &file.bytes).await?;
            let size = Some(file.bytes.len() as u64);
            SavedFile { url: url(api, host, &stored), name: stored, size, metadata: file.metadata, tags: file.tags }
        }
    };
    file_triggers::after_save(api, ctx, &saved_file).await?;
    Ok(saved(saved_file.url, &saved_file.name))
}

/// Where an upload goes once beforeSaveFile has answered.
enum Outcome {
    Store(NewFile),
    /// The trigger answered a file saved already (elsewhere): nothing is stored.
    SavedElsewhere(SavedFile),
}

/// The file beforeSaveFile answered, checked as an upload is: its name must be valid (122),
/// its data present (130).
fn answered_file(sent: NewFile, answer: AnsweredFile) -> Result<Outcome, ParseError> {
    let name = match answer.name {
        Some(name) => filename(&name)?,
        None => return Err(no_name()),
    };
    if let Some(url) = answer.url {
        return Ok(Outcome::SavedElsewhere(SavedFile { name, url, size: None, metadata: answer.metadata, tags: answer.tags }));
    }
    let bytes = match (answer.same_data, answer.base64) {
        (true, _) => sent.bytes,
        (false, Some(base64)) => decode_base64(&base64)?,
        (false, None) => return Err(empty_upload()),
    };
    let content_type = match answer.content_type {
        Some(given) => content_type(&name, Some(&given))?,
        None if name == sent.name => sent.content_type,
        None => content_type(&name, None)?,
    };
    Ok(Outcome::Store(NewFile { name, content_type, bytes, metadata: answer.metadata, tags: answer.tags }))
}

/// Whether an upload must be read whole before it is stored: beforeSaveFile sees its bytes.
pub fn sees_bytes(api: &Api) -> bool {
    file_triggers::defined(api, TriggerKind::BeforeSaveFile)
}

/// Answers a raw upload streamed to disk as `stored` (`size` bytes), once afterSaveFile ran.
pub async fn stored(api: &Api, ctx: &Ctx, host: Option<&str>, stored: String, size: u64) -> Result<Reply, ParseError> {
    let file = SavedFile { url: url(api, host, &stored), name: stored, size: Some(size), metadata: Map::new(), tags: Map::new() };
    file_triggers::after_save(api, ctx, &file).await?;
    Ok(saved(file.url, &file.name))
}

/// Stores `bytes` as a new file named after `name` (already checked by [`filename`]); answers
/// the stored name.
async fn store_bytes(api: &Api, name: &str, content_type: &str, bytes: &[u8]) -> Result<String, ParseError> {
    check_size(api, bytes.len() as u64)?;
    let stored = new_stored_name(name, content_type);
    let mut upload = api.files.begin(content_type).await.map_err(|e| not_stored(name, e))?;
    upload.write(bytes).await.map_err(|e| not_stored(name, e))?;
    upload.finish(&api.files, &stored).await.map_err(|e| not_stored(name, e))?;
    Ok(stored)
}

/// The `base64` of the SDK's JSON upload form: 130 when it is missing or not valid base64.
pub fn base64_data(body: &Map<String, Value>) -> Result<Vec<u8>, ParseError> {
    match body.get("base64") {
        Some(Value::String(data)) => decode_base64(data),
        _ => Err(empty_upload()),
    }
}

/// Base64 as the SDK and Node's `Buffer.from(s, 'base64')` write it: padding optional.
fn decode_base64(data: &str) -> Result<Vec<u8>, ParseError> {
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    engine
        .decode(data.trim())
        .map_err(|e| ParseError::new(ErrorCode::FILE_SAVE_ERROR, format!("Invalid file upload: the base64 data is not valid ({e}).")))
}

/// `POST files/:name` from cloud code (`Parse.File#save`): the SDK's JSON form (`base64`,
/// `_ContentType`, `fileData`), under the caller's upload rights. Uploads over HTTP never
/// reach the route table; `http::files` reads them.
pub async fn save_json(api: &Arc<Api>, ctx: &Ctx, raw: &str, body: Map<String, Value>) -> Result<Reply, ParseError> {
    let name = filename(raw)?;
    may_upload(api, ctx.master, ctx.user.is_some())?;
    let file = json_file(name, None, &body)?;
    save(api, ctx, None, file).await
}

/// The file of the SDK's JSON upload form; `content_type` is the SDK's `_ContentType` when the
/// HTTP layer has lifted it out of the body already.
pub fn json_file(name: String, content_type: Option<&str>, body: &Map<String, Value>) -> Result<NewFile, ParseError> {
    let bytes = base64_data(body)?;
    let given = content_type.or_else(|| body.get("_ContentType").and_then(Value::as_str));
    let content_type = self::content_type(&name, given)?;
    Ok(NewFile::plain(name, content_type, bytes).with_file_data(body))
}

/// `GET files/:appId/:name` from cloud code (`Parse.File#getData`): the bytes as `{base64}`.
/// Over HTTP the same path is a download that `http::files` streams, so only cloud code gets
/// this JSON answer, which its `getData` needs anyway.
pub async fn data_for_cloud_code(api: &Arc<Api>, app_id: &str, raw: &str) -> Result<Reply, ParseError> {
    if app_id != api.config.keys.app_id {
        return Err(wrong_app());
    }
    let name = stored_name(raw).ok_or_else(not_found)?;
    let stored = match api.files.open_file(&name).await {
        Ok(Some(stored)) => stored,
        Ok(None) => return Err(not_found()),
        Err(e) => {
            tracing::error!("could not read file {name}: {e}");
            return Err(not_found());
        }
    };
    let mut bytes = Vec::with_capacity(usize::try_from(stored.len).unwrap_or(0));
    let mut file = stored.file.take(stored.len);
    if let Err(e) = file.read_to_end(&mut bytes).await {
        tracing::error!("could not read file {name}: {e}");
        return Err(not_found());
    }
    let base64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
    Ok(Reply::json(&json!({ "base64": base64, "contentType": stored.content_type })))
}

/// `decodeURIComponent`, or `None` for a bad escape or bytes that are not UTF-8.
fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `encodeURIComponent` for the characters a valid name may hold.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '~' | '_' | '-' => out.push(c),
            _ => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_parse_rules() {
        assert_eq!(filename("a%20b.txt").unwrap(), "a b.txt");
        assert_eq!(filename("hello.txt").unwrap(), "hello.txt");
        for bad in ["a/b", "a%2Fb", "..", ".hidden", "-x", "%zz", "a\u{e9}", ""] {
            assert_eq!(filename(bad).unwrap_err().code, ErrorCode::INVALID_FILE_NAME, "{bad}");
        }
        assert_eq!(filename(&"a".repeat(129)).unwrap_err().message, "Filename too long.");
    }

    #[test]
    fn stored_names_are_unique_and_typed() {
        let a = new_stored_name("a.txt", "text/plain");
        let b = new_stored_name("a.txt", "text/plain");
        assert_ne!(a, b);
        assert!(a.ends_with("_a.txt") && a.len() == PREFIX_DIGITS + 6, "{a}");
        assert!(new_stored_name("photo", "image/png").ends_with("_photo.png"));
        assert!(stored_name(&encode(&a)).is_some());
        assert!(stored_name("..%2Fdata").is_none());
    }

    #[test]
    fn content_types_are_kept_guessed_or_refused() {
        assert_eq!(content_type("a.txt", Some("application/x-mine")).unwrap(), "application/x-mine");
        assert_eq!(content_type("a.PNG", None).unwrap(), "image/png");
        assert_eq!(content_type("a", None).unwrap(), "application/octet-stream");
        assert_eq!(content_type("a", Some("x\ny")).unwrap_err().code, ErrorCode::FILE_SAVE_ERROR);
    }

    #[test]
    fn base64_with_or_without_padding() {
        assert_eq!(decode_base64("aGk=").unwrap(), b"hi");
        assert_eq!(decode_base64("aGk").unwrap(), b"hi");
        assert_eq!(decode_base64("!!").unwrap_err().code, ErrorCode::FILE_SAVE_ERROR);
    }

    #[test]
    fn urls_encode_like_encode_uri_component() {
        assert_eq!(encode("ab_a b@c.txt"), "ab_a%20b%40c.txt");
        assert_eq!(percent_decode("ab_a%20b%40c.txt").unwrap(), "ab_a b@c.txt");
    }
}
