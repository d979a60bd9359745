//! `require`'s two questions to the host: where is this module, and what is in it.

use std::path::Path;

use deno_core::{op2, OpState};

use crate::runtime::loader::{ModuleError, ModuleRoot};

/// Resolves a specifier required from `referrer` to a canonical path inside the cloud dir.
#[op2]
#[string]
pub fn op_cloud_resolve_module(
    state: &mut OpState,
    #[string] specifier: &str,
    #[string] referrer: &str,
) -> Result<String, ModuleError> {
    let root = state.borrow::<ModuleRoot>();
    root.resolve(specifier, Path::new(referrer)).map(|path| path.to_string_lossy().into_owned())
}

/// Reads the source of a resolved module.
#[op2]
#[string]
pub fn op_cloud_read_module(state: &mut OpState, #[string] path: &str) -> Result<String, ModuleError> {
    state.borrow::<ModuleRoot>().read(Path::new(path))
}
