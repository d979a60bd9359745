//! The capabilities cloud code reaches through ops, one file each, and the extension that
//! bundles them with the JS half of the runtime (`js/`, numbered for load order).

pub mod data;
pub mod error;
pub mod http;
pub mod log;
pub mod modules;

use std::sync::Arc;

use deno_core::ExtensionFileSource;

use crate::runtime::budget::{CallBudgets, HttpSettings};
use crate::runtime::host::{Call, HostSlot};
use crate::runtime::loader::ModuleRoot;

deno_core::extension!(
    cloudrt,
    ops = [
        log::op_cloud_log,
        modules::op_cloud_resolve_module,
        modules::op_cloud_read_module,
        data::op_parse_request,
        error::op_parse_error_codes,
        http::op_http_request,
    ],
    options = { root: ModuleRoot, host: HostSlot, nested: NestedQueue, http: HttpSettings },
    state = |state, options| {
        state.put(options.root);
        state.put(options.host);
        state.put(options.nested);
        state.put(options.http);
        state.put(CallBudgets::default());
    },
    customizer = |extension: &mut deno_core::Extension| {
        extension.js_files = JS.iter().map(|(specifier, code)| ExtensionFileSource::new_computed(specifier, Arc::from(*code))).collect();
    },
);

/// The JS half of the runtime, compiled into the binary, in load order. (deno_core's own
/// `js = [...]` list records each file's absolute path in the build tree and reads it from
/// there at every start, so a binary moved off its checkout would not start.)
macro_rules! embedded_js {
    ($($file:literal),* $(,)?) => {
        &[$((concat!("ext:cloudrt/", $file), include_str!(concat!("../../../js/", $file)))),*]
    };
}

const JS: &[(&str, &str)] = embedded_js![
    "00_console.js",
    "10_require.js",
    "20_parse.js",
    "40_request.js",
    "41_geo.js",
    "42_acl.js",
    "43_file.js",
    "44_encode.js",
    "45_ops.js",
    "46_relation.js",
    "47_object_state.js",
    "48_object.js",
    "49_batch.js",
    "49_trigger_objects.js",
    "50_query.js",
    "55_schema.js",
    "60_user.js",
    "65_http.js",
    "70_cloud.js",
];

/// The worker's own queue for the calls its cloud code causes (triggers of its saves).
#[derive(Clone)]
pub struct NestedQueue(pub tokio::sync::mpsc::UnboundedSender<Call>);
