// console, timers and unhandled-error reporting for cloud code.
// Everything printed goes through op_cloud_log to the server's log, tagged with the handler
// that is running, so an operator can tell which function wrote a line.
"use strict";

((globalThis) => {
  const core = globalThis.Deno.core;
  const { op_cloud_log } = core.ops;

  /** The tag of the handler now running ("function hello"); set by the dispatcher. */
  const logTag = { current: "main.js" };

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

  globalThis.console = makeLogger(() => logTag.current);

  globalThis.setTimeout = (callback, delay, ...args) =>
    core.createTimer(() => callback(...args), delay, undefined, false, true);
  globalThis.setInterval = (callback, delay, ...args) =>
    core.createTimer(() => callback(...args), delay, undefined, true, true);
  globalThis.clearTimeout = (timer) => {
    if (timer) core.cancelTimer(timer);
  };
  globalThis.clearInterval = globalThis.clearTimeout;

  // A promise nobody handles must not break the event loop other calls share: log it.
  core.setUnhandledPromiseRejectionHandler((_promise, reason) => {
    op_cloud_log("error", logTag.current, "unhandled promise rejection: " + formatValue(reason));
    return true;
  });
  core.setReportExceptionCallback((error) => {
    op_cloud_log("error", logTag.current, "uncaught exception: " + formatValue(error));
  });

  globalThis.__cloudrtInternals = { logTag, makeLogger, formatValue };
})(globalThis);
