// CommonJS `require` confined to the cloud directory.
// Rust resolves a specifier (and refuses anything outside cloud/); this file evaluates the
// source once per runtime, caches the module, and hands out partial exports on cycles as Node does.
"use strict";

((globalThis) => {
  const core = globalThis.Deno.core;
  const { op_cloud_resolve_module, op_cloud_read_module } = core.ops;

  /** path -> module record, so each module runs once per runtime. */
  const cache = new Map();

  function dirname(path) {
    const i = path.lastIndexOf("/");
    return i <= 0 ? "/" : path.slice(0, i);
  }

  function loadModule(path) {
    const cached = cache.get(path);
    if (cached) return cached.exports;

    const module = { id: path, filename: path, exports: {}, loaded: false };
    cache.set(path, module);
    const source = op_cloud_read_module(path);
    try {
      if (path.endsWith(".json")) {
        module.exports = JSON.parse(source);
      } else {
        // Wrapper on the first line so reported line numbers match the file.
        const wrapped = "(function (exports, require, module, __filename, __dirname) {" +
          source + "\n})";
        const [fn, error] = core.evalContext(wrapped, "file://" + path);
        if (error) throw error.thrown;
        fn.call(module.exports, module.exports, makeRequire(path), module, path, dirname(path));
      }
    } catch (e) {
      cache.delete(path);
      throw e;
    }
    module.loaded = true;
    return module.exports;
  }

  function makeRequire(referrer) {
    return function require(specifier) {
      if (typeof specifier !== "string" || specifier === "") {
        throw new TypeError("require() expects a module name (a non-empty string)");
      }
      return loadModule(op_cloud_resolve_module(specifier, referrer));
    };
  }

  globalThis.__cloudrtInternals.loadModule = loadModule;
})(globalThis);
