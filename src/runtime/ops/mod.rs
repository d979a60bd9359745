//! The capabilities cloud code reaches through ops, one file each, and the extension that
//! bundles them with the JS half of the runtime (`js/`, numbered for load order).

pub mod log;
pub mod modules;

use crate::runtime::loader::ModuleRoot;

deno_core::extension!(
    cloudrt,
    ops = [log::op_cloud_log, modules::op_cloud_resolve_module, modules::op_cloud_read_module],
    js = [dir "js", "00_console.js", "10_require.js", "20_parse.js", "30_cloud.js"],
    options = { root: ModuleRoot },
    state = |state, options| {
        state.put(options.root);
    },
);
