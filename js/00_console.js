// console, timers, unhandled-error reporting and the request scope for cloud code.
// Everything printed goes through op_cloud_log to the server's log, tagged with the handler
// that is running, so an operator can tell which function wrote a line.
"use strict";

((globalThis) => {
  const core = globalThis.Deno.core;
  const { op_cloud_log } = core.ops;
  const { getAsyncContext, setAsyncContext } = core;

  /**
   * Many calls are in flight on one runtime, so nothing about "the call now running" can be a
   * global. Each call has a request scope `{id, tag, auth}` (made by js/70_cloud.js): its id
   * names its budget in Rust (passed to every op), its tag its log lines, its auth the
   * credentials of its data calls. The scope rides on the engine's async context, which every
   * continuation (await, then, op completion) restores, so it stays with its call across
   * `await` while other calls run in between. Undefined at main.js top level.
   */
  const currentScope = () => getAsyncContext();

  /** The request scope of one call in flight, made by the dispatcher (js/70_cloud.js). */
  class RequestScope {
    constructor(id, tag) {
      /** Names the call's budget in Rust (deadline, httpRequest slots): every op takes it. */
      this.id = id;
      /** What its log lines are tagged with: "function hello", "beforeSave Review". */
      this.tag = tag;
      /**
       * Credentials of its data calls, `{master, sessionToken, installationId}` from its
       * request, plus `useMasterKey` once it calls Parse.Cloud.useMasterKey().
       */
      this.auth = null;
    }
  }

  /** Runs `body` with `scope` as the current request scope (and everything it schedules). */
  function inScope(scope, body) {
    const outer = getAsyncContext();
    setAsyncContext(scope);
    try {
      return body();
    } finally {
      setAsyncContext(outer);
    }
  }

  /** The id ops take for the current call; 0 when none (main.js top level). */
  const scopeId = () => {
    const scope = getAsyncContext();
    return scope ? scope.id : 0;
  };

  const currentTag = () => {
    const scope = getAsyncContext();
    return scope ? scope.tag : "main.js";
  };

  function formatValue(value) {
    if (typeof value === "string") return value;
    if (value instanceof Error) return value.stack || String(value);
    if (value === undefined || typeof value === "function" || typeof value === "symbol") {
      return String(value);
    }
    try {
      const json = JSON.stringify(value);
      return json === undefined ? String(value) : json;
    } catch (_) {
      return String(value);
    }
  }

  function formatArgs(args) {
    let out = "";
    for (let i = 0; i < args.length; i++) {
      if (i > 0) out += " ";
      out += formatValue(args[i]);
    }
    return out;
  }

  /** A logger writing at the given levels under a tag (fixed, or the running handler's). */
  function makeLogger(tagOf) {
    const at = (level) => (...args) => op_cloud_log(level, tagOf(), formatArgs(args));
    return {
      log: at("info"),
      info: at("info"),
      debug: at("debug"),
      trace: at("debug"),
      warn: at("warn"),
      error: at("error"),
    };
  }

  globalThis.console = makeLogger(currentTag);

  /** A timer callback runs in the scope of the call that set the timer. */
  function timer(repeat, callback, delay, args) {
    const scope = getAsyncContext();
    return core.createTimer(() => inScope(scope, () => callback(...args)), delay, undefined, repeat, true);
  }
  globalThis.setTimeout = (callback, delay, ...args) => timer(false, callback, delay, args);
  globalThis.setInterval = (callback, delay, ...args) => timer(true, callback, delay, args);
  globalThis.clearTimeout = (timer) => {
    if (timer) core.cancelTimer(timer);
  };
  globalThis.clearInterval = globalThis.clearTimeout;

  // A promise nobody handles must not break the event loop other calls share: log it.
  core.setUnhandledPromiseRejectionHandler((_promise, reason) => {
    op_cloud_log("error", currentTag(), "unhandled promise rejection: " + formatValue(reason));
    return true;
  });
  core.setReportExceptionCallback((error) => {
    op_cloud_log("error", currentTag(), "uncaught exception: " + formatValue(error));
  });

  globalThis.__cloudrtInternals = { RequestScope, currentScope, inScope, scopeId, makeLogger, formatValue };
})(globalThis);
