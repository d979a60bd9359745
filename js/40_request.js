// Talking to the server: credentials, REST calls through op_parse_request, options and callbacks.
// Part of cloud code's SDK layer (split from one file along its seams); each part takes what
// it needs from the shared `sdk` namespace and adds its exports to it explicitly at the end.
"use strict";

((globalThis) => {
  const internals = globalThis.__cloudrtInternals;
  const Parse = globalThis.Parse;
  const ParseError = Parse.Error;
  const { op_parse_request } = globalThis.Deno.core.ops;

  /** The SDK layer's namespace: every part below, 50_query.js and 60_user.js add to it. */
  const sdk = {};
  internals.sdk = sdk;

  /** Largest number of sub-requests sent in one `batch` call. */
  const BATCH_SIZE = 50;

  const DANGEROUS_KEYS = ["__proto__", "constructor", "prototype"];
  function isDangerousKey(key) {
    if (DANGEROUS_KEYS.includes(key)) return true;
    return key.includes(".") && key.split(".").some((part) => DANGEROUS_KEYS.includes(part));
  }

  const hasOwn = (object, key) => Object.prototype.hasOwnProperty.call(object, key);
  const noop = () => {};

  /** Set by Parse.Cloud.useMasterKey() called while no request is being handled (main.js top level). */
  let globalMasterKey = false;

  /** The auth object of the request being handled (see internals.currentAuth), or null. */
  function currentAuthObject() {
    const currentAuth = internals.currentAuth;
    if (typeof currentAuth !== "function") return null;
    try {
      const auth = currentAuth();
      return auth && typeof auth === "object" ? auth : null;
    } catch (_) {
      return null;
    }
  }

  /** `{master, sessionToken, installationId}` for a call made with these (normalised) options. */
  function authFor(options) {
    const current = currentAuthObject() || {};
    const installationId = typeof options.installationId === "string"
      ? options.installationId
      : (typeof current.installationId === "string" ? current.installationId : null);
    const currentToken = typeof current.sessionToken === "string" ? current.sessionToken : null;
    if (options.useMasterKey === true) {
      return {
        master: true,
        sessionToken: typeof options.sessionToken === "string" ? options.sessionToken : null,
        installationId,
      };
    }
    if (typeof options.sessionToken === "string") {
      return { master: false, sessionToken: options.sessionToken, installationId };
    }
    if (options.useMasterKey === false) {
      return { master: false, sessionToken: currentToken, installationId };
    }
    return {
      master: !!(current.master || current.useMasterKey || globalMasterKey),
      sessionToken: currentToken,
      installationId,
    };
  }

  /**
   * One REST call through the op. `body` is a JS value (JSON-encoded here; undefined/null for
   * none). Resolves to the parsed answer; rejects with a Parse.Error.
   */
  async function request(method, path, body, options) {
    options = options || {};
    if (typeof op_parse_request !== "function") {
      throw new ParseError(ParseError.INTERNAL_SERVER_ERROR, "The data API is not available in this runtime");
    }
    const bodyJson = body === undefined || body === null ? "" : JSON.stringify(body);
    let raw;
    try {
      raw = await op_parse_request(
        { method, path, body: bodyJson, auth: authFor(options) },
        internals.scopeId(),
      );
    } catch (e) {
      // The op fails with a Parse.Error carrying the API's code (src/runtime/ops/error.rs).
      if (e instanceof ParseError) throw e;
      throw new ParseError(ParseError.INTERNAL_SERVER_ERROR, (e && e.message) || String(e));
    }
    try {
      return raw ? JSON.parse(raw) : {};
    } catch (_) {
      throw new ParseError(ParseError.INVALID_JSON, "Invalid JSON answer from the server");
    }
  }

  /** Path prefix of batch sub-requests (REST batch paths are absolute: "/1/classes/X"). */
  function batchPath(path) {
    let prefix = typeof internals.batchPathPrefix === "string" ? internals.batchPathPrefix : "/1/";
    if (!prefix.endsWith("/")) prefix += "/";
    return prefix + path;
  }

  /** The options every data call understands (as the SDK's _getRequestOptions). */
  function requestOptions(options) {
    const out = {};
    if (options === undefined || options === null) return out;
    if (typeof options !== "object") throw new Error("request options must be of type Object");
    if (hasOwn(options, "useMasterKey")) out.useMasterKey = !!options.useMasterKey;
    if (typeof options.sessionToken === "string") out.sessionToken = options.sessionToken;
    if (typeof options.installationId === "string") out.installationId = options.installationId;
    if (typeof options.batchSize === "number") out.batchSize = options.batchSize;
    if (typeof options.transaction === "boolean") out.transaction = options.transaction;
    if (options.context && typeof options.context === "object") out.context = options.context;
    if (hasOwn(options, "include")) out.include = handleIncludeOptions(options);
    if (hasOwn(options, "json")) out.json = options.json;
    return out;
  }

  function handleIncludeOptions(options) {
    let include = [];
    if (Array.isArray(options.include)) {
      for (const key of options.include) {
        if (Array.isArray(key)) include = include.concat(key);
        else include.push(key);
      }
    } else {
      include.push(options.include);
    }
    return include;
  }

  /**
   * Parse.com-style `{success, error}` callbacks on top of the promise (the promise is still
   * returned, and still rejects; it is marked handled when an error callback takes the error).
   * `model` is what object methods pass first to `error` (Backbone style).
   */
  function withCallbacks(promise, options, model) {
    if (!options || typeof options !== "object") return promise;
    const { success, error } = options;
    if (typeof success !== "function" && typeof error !== "function") return promise;
    promise.then(
      (result) => {
        if (typeof success === "function") success(result);
      },
      (e) => {
        if (typeof error === "function") {
          if (model !== undefined) error(model, e);
          else error(e);
        }
      },
    );
    if (typeof error === "function") promise.catch(noop);
    return promise;
  }

  function deferred() {
    let resolve;
    let reject;
    const promise = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  }

  Object.assign(sdk, {
    BATCH_SIZE,
    authFor,
    batchPath,
    currentAuthObject,
    deferred,
    handleIncludeOptions,
    hasOwn,
    isDangerousKey,
    noop,
    request,
    requestOptions,
    withCallbacks,
    /** Parse.Cloud.useMasterKey() at the top level of main.js (outside any request). */
    setGlobalMasterKey(on) {
      globalMasterKey = !!on;
    },
  });
})(globalThis);
