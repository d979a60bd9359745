// CommonJS `require` confined to the cloud directory.
// Rust resolves a specifier (and refuses anything outside cloud/); this file evaluates the
// source once per load of the cloud code, caches the module, and hands out partial exports on
// cycles as Node does. A reload (hot reload, SIGHUP) starts from an empty cache, so every file
// is read and run again, while the calls still in flight keep the modules they were given.
"use strict";

((globalThis) => {
  const core = globalThis.Deno.core;
  const { op_cloud_resolve_module, op_cloud_read_module } = core.ops;

  function dirname(path) {
    const i = path.lastIndexOf("/");
    return i <= 0 ? "/" : path.slice(0, i);
  }

  /**
   * Loads `mainPath` with a module cache of its own; answers the paths of the modules it ran
   * (main.js first), the files of this release of the cloud code.
   */
  function loadRelease(mainPath) {
    /** path -> module record, so each module runs once per release. */
    const cache = new Map();
    loadModule(cache, mainPath);
    return [...cache.keys()];
  }

  function loadModule(cache, path) {
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
        fn.call(module.exports, module.exports, makeRequire(cache, path), module, path, dirname(path));
      }
    } catch (e) {
      cache.delete(path);
      throw e;
    }
    module.loaded = true;
    return module.exports;
  }

  function makeRequire(cache, referrer) {
    return function require(specifier) {
      if (typeof specifier !== "string" || specifier === "") {
        throw new TypeError("require() expects a module name (a non-empty string)");
      }
      return loadModule(cache, op_cloud_resolve_module(specifier, referrer));
    };
  }

  globalThis.__cloudrtInternals.loadRelease = loadRelease;
})(globalThis);
