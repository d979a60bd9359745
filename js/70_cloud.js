// Parse.Cloud: where cloud code registers its handlers, and the dispatcher the worker calls.
// Handlers accept both styles: the modern one (return a value or a promise, throw to fail) and
// Parse.com's (`function (request, response)` answering with response.success / response.error).
"use strict";

((globalThis) => {
  const internals = globalThis.__cloudrtInternals;
  const { op_parse_request } = globalThis.Deno.core.ops;
  const { currentScope, inScope, scopeId, makeLogger } = internals;
  // Looked up at call time: 40_object.js upgrades encode/decode to all Parse types.
  const decode = (value) => internals.decode(value);
  const encode = (value, full) => internals.encode(value, full);
  const ParseError = globalThis.Parse.Error;

  const functions = new Map();
  const jobs = new Map();
  /** "className|triggerName" -> handler */
  const triggers = new Map();
  const TRIGGER_NAMES = ["beforeSave", "afterSave", "beforeDelete", "afterDelete"];
  /** The trigger name an auth adapter is registered under, with its provider as the class. */
  const AUTH_PROVIDER = "authProvider";
  /** Triggers of one class that take only a handler: `Parse.Cloud.beforeLogin(handler)`. */
  const SESSION_TRIGGERS = { beforeLogin: "_User", afterLogin: "_User", afterLogout: "_Session" };

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

  const reply = (result) => "R" + JSON.stringify({ result: encode(result, true) });
  const failure = (thrown) => "E" + JSON.stringify(toParseError(thrown));

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

  /** Answers "R" + `{"result":…}` or "E" + `{"code":…,"error":…}`, synchronously when it can. */
  function settle(result, done) {
    if (result && typeof result.then === "function") {
      return Promise.resolve(result).then(done).then(undefined, failure);
    }
    return done(result);
  }

  function runFunction(name, requestJson) {
    const handler = functions.get(name);
    if (!handler) {
      return "E" + JSON.stringify({ code: ParseError.SCRIPT_FAILED, error: 'Invalid function: "' + name + '"' });
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
      return "E" + JSON.stringify({ code: ParseError.SCRIPT_FAILED, error: "No " + triggerName + " trigger for " + className });
    }
    try {
      const wire = JSON.parse(requestJson);
      if (triggerName === AUTH_PROVIDER) return runAuthProvider(handler, className, wire);
      const request = baseRequest(wire, triggerName + " " + className);
      request.triggerName = triggerName;
      const sdk = internals.sdk;
      const fromJSON = (json) => globalThis.Parse.Object.fromJSON(Object.assign({}, json, { className }));
      request.object = triggerName === "beforeSave"
        ? sdk.objectForTrigger(className, wire.original, wire.body)
        : fromJSON(wire.object);
      if (wire.original) request.original = fromJSON(wire.original);
      const done = () => {
        const answer = { context: request.context };
        if (triggerName === "beforeSave") answer.object = sdk.triggerChanges(request.object);
        return "R" + JSON.stringify(answer);
      };
      return settle(invoke(handler, request), done);
    } catch (thrown) {
      return failure(thrown);
    }
  }

  /**
   * Runs an auth adapter: `handler(authData, request)` resolves to accept the identity (or to
   * `{ save: {...} }` to store other data for it) and throws to refuse it.
   */
  function runAuthProvider(handler, provider, wire) {
    const request = baseRequest(wire, "authProvider " + provider);
    request.provider = provider;
    const done = (result) => {
      const save = result && typeof result === "object" && result.save && typeof result.save === "object"
        ? result.save : undefined;
      return "R" + JSON.stringify(save ? { save } : {});
    };
    return settle(handler(wire.authData, request), done);
  }

  /**
   * Runs a background job. Progress (`status.message` / `request.message`) is written to the
   * run's `_JobStatus` in order; a message after success or error is ignored (the seed).
   * Answers "R" + `{"message": …}` when the job succeeds, "E" + the error when it fails.
   */
  function runJob(name, requestJson) {
    const handler = jobs.get(name);
    if (!handler) {
      return "E" + JSON.stringify({ code: ParseError.SCRIPT_FAILED, error: 'Invalid job: "' + name + '"' });
    }
    const wire = JSON.parse(requestJson);
    const request = baseRequest(wire, "job " + name);
    request.params = decode(wire.params || {});
    request.jobName = name;
    request.jobId = wire.jobId;
    let finished = false;
    let written = Promise.resolve();
    const auth = JSON.stringify({ master: true, sessionToken: null, installationId: null });
    const message = (text) => {
      if (finished) return;
      const body = JSON.stringify({ message: String(text) });
      written = written
        .then(() => op_parse_request("PUT", "classes/_JobStatus/" + wire.jobId, body, auth, scopeId()))
        .then(undefined, () => {});
    };
    request.message = message;
    const succeeded = (value) => written.then(() =>
      "R" + JSON.stringify({ message: value === undefined || value === null ? null : String(value) }));
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
    const scope = { id: Number(id), tag: kind + " " + name, auth: null };
    return inScope(scope, () => {
      if (kind === "trigger") return runTrigger(name, requestJson);
      if (kind === "job") return runJob(name, requestJson);
      return runFunction(name, requestJson);
    });
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
  for (const [triggerName, target] of Object.entries(SESSION_TRIGGERS)) {
    Cloud[triggerName] = (handler) => registerTrigger(triggerName)(target, handler);
  }
  /**
   * Registers the validation of authData provider `name` (cloudrt's counterpart of Parse
   * Server's auth adapters): sign-ups, log-ins and links naming it run `handler(authData,
   * request)`; throwing refuses them.
   */
  Cloud.authProvider = (name, handler) => {
    checkHandler(AUTH_PROVIDER, name, handler);
    triggers.set(name + "|" + AUTH_PROVIDER, handler);
  };
  globalThis.Parse.Cloud = Cloud;

  internals.dispatch = dispatch;
  internals.handlers = handlers;
})(globalThis);
