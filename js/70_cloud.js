// Parse.Cloud: where cloud code registers its handlers, and the dispatcher the worker calls.
// Handlers accept both styles: the modern one (return a value or a promise, throw to fail) and
// Parse.com's (`function (request, response)` answering with response.success / response.error).
"use strict";

((globalThis) => {
  const internals = globalThis.__cloudrtInternals;
  const { op_parse_request } = globalThis.Deno.core.ops;
  const { RequestScope, currentScope, inScope, scopeId, makeLogger } = internals;
  // Looked up at call time: 40_object.js upgrades encode/decode to all Parse types.
  const decode = (value) => internals.decode(value);
  const encode = (value, full) => internals.encode(value, full);
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

  // The dispatcher's two answers, read by the worker (src/runtime/worker.rs `Answer`):
  // `{body}`, the REST answer's JSON text, or `{code, error}`, a Parse error.
  const done = (answer) => ({ body: JSON.stringify(answer) });
  const reply = (result) => done({ result: encode(result, true) });
  /** A message that is not a string (`response.error({...})`) travels as its JSON value. */
  const failure = (thrown) => {
    const { code, error } = toParseError(thrown);
    return { code, error: typeof error === "string" ? error : JSON.parse(JSON.stringify(error) ?? "null") };
  };
  const refused = (code, error) => ({ code, error });

  /**
   * Credentials of the call whose code is running, for the data API (Parse.Object#save …):
   * its request scope's, so each call keeps its own across `await` (js/00_console.js).
   * `Parse.Cloud.useMasterKey()` marks this object, so it lasts for this call only.
   */
  internals.currentAuth = () => {
    const scope = currentScope();
    return scope ? scope.auth : null;
  };

  /** The caller as a Parse.User (REST JSON with its sessionToken), or undefined. */
  function decodeUser(wireUser) {
    if (!wireUser) return undefined;
    const Parse = globalThis.Parse;
    return Parse.User && Parse.Object.fromJSON
      ? Parse.Object.fromJSON(Object.assign({ className: "_User" }, wireUser))
      : wireUser;
  }

  /** The fields every function and trigger request has; sets the call's tag and credentials. */
  function baseRequest(wire, tag) {
    const scope = currentScope();
    scope.tag = tag;
    scope.auth = {
      master: !!wire.master,
      sessionToken: (wire.user && wire.user.sessionToken) || null,
      installationId: wire.installationId == null ? null : wire.installationId,
    };
    return {
      master: !!wire.master,
      user: decodeUser(wire.user),
      installationId: wire.installationId == null ? undefined : wire.installationId,
      headers: wire.headers || {},
      ip: wire.ip,
      context: wire.context || {},
      log: makeLogger(() => tag),
    };
  }

  function functionRequest(name, wire) {
    const request = baseRequest(wire, "function " + name);
    request.params = decode(wire.params || {});
    request.functionName = name;
    return request;
  }

  /** Answers `{body}` or `{code, error}`, synchronously when it can. */
  function settle(result, done) {
    if (result && typeof result.then === "function") {
      return Promise.resolve(result).then(done).then(undefined, failure);
    }
    return done(result);
  }

  function runFunction(name, requestJson) {
    const handler = functions.get(name);
    if (!handler) {
      return refused(ParseError.SCRIPT_FAILED, 'Invalid function: "' + name + '"');
    }
    try {
      return settle(invoke(handler, functionRequest(name, JSON.parse(requestJson))), reply);
    } catch (thrown) {
      return failure(thrown);
    }
  }

  /**
   * Runs a trigger. beforeSave gets the object as the SDK would build it (stored fields plus
   * the write as dirty changes, so `dirty()` works) and answers the write as the handler left
   * it; every trigger answers its context, so what beforeSave put there reaches afterSave.
   */
  function runTrigger(key, requestJson) {
    const handler = triggers.get(key);
    const [className, triggerName] = key.split("|");
    if (!handler) {
      return refused(ParseError.SCRIPT_FAILED, "No " + triggerName + " trigger for " + className);
    }
    try {
      const wire = JSON.parse(requestJson);
      const request = baseRequest(wire, triggerName + " " + className);
      request.triggerName = triggerName;
      const sdk = internals.sdk;
      const fromJSON = (json) => globalThis.Parse.Object.fromJSON(Object.assign({}, json, { className }));
      request.object = triggerName === "beforeSave"
        ? sdk.objectForTrigger(className, wire.original, wire.body)
        : fromJSON(wire.object);
      if (wire.original) request.original = fromJSON(wire.original);
      const answered = () => {
        const answer = { context: request.context };
        if (triggerName === "beforeSave") answer.object = sdk.triggerChanges(request.object);
        return done(answer);
      };
      return settle(invoke(handler, request), answered);
    } catch (thrown) {
      return failure(thrown);
    }
  }

  /**
   * Runs a background job. Progress (`status.message` / `request.message`) is written to the
   * run's `_JobStatus` in order; a message after success or error is ignored (the seed).
   * Answers `{"message": …}` when the job succeeds, the error when it fails.
   */
  function runJob(name, requestJson) {
    const handler = jobs.get(name);
    if (!handler) {
      return refused(ParseError.SCRIPT_FAILED, 'Invalid job: "' + name + '"');
    }
    const wire = JSON.parse(requestJson);
    const request = baseRequest(wire, "job " + name);
    request.params = decode(wire.params || {});
    request.jobName = name;
    request.jobId = wire.jobId;
    let finished = false;
    let written = Promise.resolve();
    const auth = { master: true, sessionToken: null, installationId: null };
    const message = (text) => {
      if (finished) return;
      const body = JSON.stringify({ message: String(text) });
      written = written
        .then(() => op_parse_request({ method: "PUT", path: "classes/_JobStatus/" + wire.jobId, body, auth }, scopeId()))
        .then(undefined, () => {});
    };
    request.message = message;
    const succeeded = (value) => written.then(() =>
      done({ message: value === undefined || value === null ? null : String(value) }));
    const failed = (thrown) => written.then(() => failure(thrown));
    try {
      if (handler.length < 2) {
        const result = handler(request);
        return Promise.resolve(result).then((value) => { finished = true; return succeeded(value); },
          (thrown) => { finished = true; return failed(thrown); });
      }
      return new Promise((resolve, reject) => {
        const status = {
          message,
          success: (value) => { if (!finished) { finished = true; resolve(value); } },
          error: (value) => { if (!finished) { finished = true; reject(value); } },
        };
        const returned = handler(request, status);
        if (returned && typeof returned.then === "function") returned.then(undefined, status.error);
      }).then(succeeded, failed);
    } catch (thrown) {
      finished = true;
      return failure(thrown);
    }
  }

  /**
   * The worker's one entry point: kind is "function", "trigger" or "job"; `id` names the call
   * in Rust. The handler runs in a request scope of its own, which everything it schedules
   * keeps, so calls interleaving on this runtime (nested triggers included) never see each
   * other's credentials, tag or budget.
   */
  function dispatch(kind, name, requestJson, id) {
    const scope = new RequestScope(Number(id), kind + " " + name);
    return inScope(scope, () => {
      if (kind === "trigger") return runTrigger(name, requestJson);
      if (kind === "job") return runJob(name, requestJson);
      return runFunction(name, requestJson);
    });
  }

  /** Names of everything main.js registered, for the server's registry and start-up log. */
  function handlers() {
    return {
      functions: [...functions.keys()],
      jobs: [...jobs.keys()],
      triggers: [...triggers.keys()].map((key) => {
        const [className, triggerName] = key.split("|");
        return { className, triggerName };
      }),
    };
  }

  /**
   * The tables main.js fills, which make up one release of the cloud code. A new release is
   * loaded into empty tables and set aside (`staged`) while the current ones keep serving;
   * it replaces them only on `commit`, once every worker has loaded it, so a main.js that
   * fails to load on any worker changes nothing. The dispatcher reads the tables only when a
   * call starts: calls in flight finish on the handlers they started with.
   */
  const tables = [functions, jobs, triggers];
  let staged = null;

  const fill = (table, from) => {
    table.clear();
    for (const [key, value] of from) table.set(key, value);
  };

  /** Loads main.js as the next release; answers its handlers and files, or throws. */
  function stage(mainPath) {
    const current = tables.map((table) => new Map(table));
    staged = null;
    try {
      for (const table of tables) table.clear();
      const files = internals.loadRelease(mainPath);
      staged = tables.map((table) => new Map(table));
      return JSON.stringify({ handlers: handlers(), files });
    } finally {
      tables.forEach((table, i) => fill(table, current[i]));
    }
  }

  /** The staged release becomes the one new calls run. */
  function commit() {
    if (staged) tables.forEach((table, i) => fill(table, staged[i]));
    staged = null;
    return "";
  }

  /** The staged release is dropped (another worker could not load it). */
  function abort() {
    staged = null;
    return "";
  }

  const Cloud = {
    ...internals.cloudHttp, // httpRequest, Cookie, HTTPResponse (js/65_http.js)
    define(name, handler) {
      checkHandler("define", name, handler);
      functions.set(name, handler);
    },
    job(name, handler) {
      checkHandler("job", name, handler);
      jobs.set(name, handler);
    },
    /**
     * Calls a cloud function as the same caller, through the server's handler registry, so
     * a webhook registered for the name wins here too (as Parse Server's REST call does).
     */
    run(name, params, options) {
      return internals.sdk
        .request("POST", "functions/" + name, encode(params || {}), options)
        .then((answer) => decode(answer.result));
    },
    /** Parse.com: later data calls of the current request use the master key. */
    useMasterKey() {
      internals.useMasterKey();
    },
  };
  for (const triggerName of TRIGGER_NAMES) Cloud[triggerName] = registerTrigger(triggerName);
  globalThis.Parse.Cloud = Cloud;

  internals.dispatch = dispatch;
  internals.stage = stage;
  internals.commit = commit;
  internals.abort = abort;
})(globalThis);
