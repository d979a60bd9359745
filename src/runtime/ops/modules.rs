//! `require`'s two questions to the host: where is this module, and what is in it.

use std::path::Path;

use deno_core::{op2, OpState};
use deno_error::JsErrorBox;

use crate::runtime::loader::ModuleRoot;

/// Resolves a specifier required from `referrer` to a canonical path inside the cloud dir.
#[op2]
#[string]
pub fn op_cloud_resolve_module(
    state: &mut OpState,
    #[string] specifier: &str,
    #[string] referrer: &str,
) -> Result<String, JsErrorBox> {
    let root = state.borrow::<ModuleRoot>();
    root.resolve(specifier, Path::new(referrer))
        .map(|path| path.to_string_lossy().into_owned())
        .map_err(|e| JsErrorBox::generic(e.to_string()))
}

/// Reads the source of a resolved module.
#[op2]
#[string]
pub fn op_cloud_read_module(state: &mut OpState, #[string] path: &str) -> Result<String, JsErrorBox> {
    let root = state.borrow::<ModuleRoot>();
    root.read(Path::new(path)).map_err(|e| JsErrorBox::generic(e.to_string()))
}
