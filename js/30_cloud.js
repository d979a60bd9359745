// Parse.Cloud: where cloud code registers its handlers, and the dispatcher the worker calls.
// Handlers accept both styles: the modern one (return a value or a promise, throw to fail) and
// Parse.com's (`function (request, response)` answering with response.success / response.error).
"use strict";

((globalThis) => {
  const internals = globalThis.__cloudrtInternals;
  const { logTag, makeLogger, decode, encode } = internals;
  const ParseError = globalThis.Parse.Error;

  const functions = new Map();
  const jobs = new Map();
  /** "className|triggerName" -> handler */
  const triggers = new Map();
  const TRIGGER_NAMES = ["beforeSave", "afterSave", "beforeDelete", "afterDelete"];

  function checkHandler(kind, name, handler) {
    if (typeof name !== "string" || name === "") {
      throw new TypeError("Parse.Cloud." + kind + " needs a name (a non-empty string)");
    }
    if (typeof handler !== "function") {
      throw new TypeError("Parse.Cloud." + kind + "('" + name + "') needs a handler function");
    }
  }

  /** 'Parse.User', Parse.User-like classes and subclasses of Parse.Object -> the stored class name. */
  function className(target) {
    let name = target;
    if (typeof target === "function" || (target && typeof target === "object")) {
      name = target.className;
    }
    if (name === "Parse.User" || name === "User") return "_User";
    if (name === "Parse.Installation") return "_Installation";
    if (name === "Parse.Session") return "_Session";
    if (name === "Parse.Role") return "_Role";
    return name;
  }

  function registerTrigger(triggerName) {
    return (target, handler) => {
      const name = className(target);
      checkHandler(triggerName, name, handler);
      triggers.set(name + "|" + triggerName, handler);
    };
  }

  /** The Parse error a thrown value stands for (same rules as Parse Server's resolveError). */
  function toParseError(thrown) {
    if (thrown instanceof ParseError) return { code: thrown.code, error: thrown.message };
    if (!thrown) return { code: ParseError.SCRIPT_FAILED, error: "Script failed." };
    if (typeof thrown === "string") return { code: ParseError.SCRIPT_FAILED, error: thrown };
    return { code: ParseError.SCRIPT_FAILED, error: thrown.message || thrown };
  }

  /** Runs a handler in either style; returns its value or a promise of it. */
  function invoke(handler, request) {
    if (handler.length < 2) return handler(request);
    return new Promise((resolve, reject) => {
      const response = {
        success: (value) => resolve(value),
        error: (code, message) =>
          reject(message === undefined ? code : new ParseError(code, message)),
      };
      const returned = handler(request, response);
      if (returned && typeof returned.then === "function") returned.then(undefined, reject);
    });
  }

  const reply = (result) => "R" + JSON.stringify({ result: encode(result) });
  const failure = (thrown) => "E" + JSON.stringify(toParseError(thrown));

  function functionRequest(name, wire) {
    const tag = "function " + name;
    return {
      params: decode(wire.params || {}),
      master: !!wire.master,
      user: wire.user || null,
      installationId: wire.installationId == null ? undefined : wire.installationId,
      headers: wire.headers || {},
      ip: wire.ip,
      functionName: name,
      context: wire.context || {},
      log: makeLogger(() => tag),
    };
  }

  /**
   * Called by the worker for `POST /functions/:name`. Answers "R" + `{"result":…}` or
   * "E" + `{"code":…,"error":…}`, synchronously when the handler is synchronous.
   */
  function runFunction(name, requestJson) {
    const handler = functions.get(name);
    if (!handler) {
      return "E" + JSON.stringify({ code: ParseError.SCRIPT_FAILED, error: 'Invalid function: "' + name + '"' });
    }
    logTag.current = "function " + name;
    try {
      const result = invoke(handler, functionRequest(name, JSON.parse(requestJson)));
      if (result && typeof result.then === "function") {
        return Promise.resolve(result).then(reply).then(undefined, failure);
      }
      return reply(result);
    } catch (thrown) {
      return failure(thrown);
    }
  }

  /** Names of everything main.js registered, for the server's registry and start-up log. */
  function handlers() {
    return JSON.stringify({
      functions: [...functions.keys()],
      jobs: [...jobs.keys()],
      triggers: [...triggers.keys()].map((key) => {
        const [className, triggerName] = key.split("|");
        return { className, triggerName };
      }),
    });
  }

  const Cloud = {
    define(name, handler) {
      checkHandler("define", name, handler);
      functions.set(name, handler);
    },
    job(name, handler) {
      checkHandler("job", name, handler);
      jobs.set(name, handler);
    },
    /** Calls another cloud function in-process, as the same caller. */
    run(name, params, options) {
      const handler = functions.get(name);
      if (!handler) {
        return Promise.reject(new ParseError(ParseError.SCRIPT_FAILED, 'Invalid function: "' + name + '"'));
      }
      const master = !!(options && options.useMasterKey);
      return Promise.resolve()
        .then(() => invoke(handler, functionRequest(name, { params: encode(params || {}), master })))
        .then(undefined, (thrown) => {
          const { code, error } = toParseError(thrown);
          throw new ParseError(code, error);
        });
    },
  };
  for (const triggerName of TRIGGER_NAMES) Cloud[triggerName] = registerTrigger(triggerName);
  globalThis.Parse.Cloud = Cloud;

  internals.runFunction = runFunction;
  internals.handlers = handlers;
})(globalThis);
