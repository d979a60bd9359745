// Parse.Cloud: where cloud code registers its handlers, and the dispatcher the worker calls.
// Handlers accept both styles: the modern one (return a value or a promise, throw to fail) and
// Parse.com's (`function (request, response)` answering with response.success / response.error).
"use strict";

((globalThis) => {
  const internals = globalThis.__cloudrtInternals;
  const { op_parse_request } = globalThis.Deno.core.ops;
  const { RequestScope, currentScope, inScope, scopeId, makeLogger } = internals;
  // Looked up at call time: 44_encode.js upgrades encode/decode to all Parse types.
  const decode = (value) => internals.decode(value);
  const encode = (value, full) => internals.encode(value, full);
  const ParseError = globalThis.Parse.Error;

  const functions = new Map();
  const jobs = new Map();
  /** triggerKey(className, triggerName) -> { className, triggerName, handler } */
  const triggers = new Map();
  /** function name or triggerKey(…) -> validator (an options object or a function) */
  const validators = new Map();
  /** The key of a trigger in the tables; Rust names a trigger by its class and kind apart. */
  const triggerKey = (className, triggerName) => triggerName + " " + className;
  const TRIGGER_NAMES = ["beforeSave", "afterSave", "beforeDelete", "afterDelete"];
  /** The trigger name an auth adapter is registered under, with its provider as the class. */
  const AUTH_PROVIDER = "authProvider";
  /** Triggers of one class that take only a handler: `Parse.Cloud.beforeLogin(handler)`. */
  const SESSION_TRIGGERS = { beforeLogin: "_User", afterLogin: "_User", afterLogout: "_Session" };
  /** Query triggers, registered per class like the save triggers. */
  const FIND_TRIGGERS = ["beforeFind", "afterFind"];
  /** Parse Server's class name for Parse.File, which file triggers are registered under. */
  const FILE_CLASS = "@File";
  /** The file trigger each object trigger stands for on Parse.File (`beforeSave(Parse.File, …)`). */
  const FILE_TRIGGERS = {
    beforeSave: "beforeSaveFile",
    afterSave: "afterSaveFile",
    beforeDelete: "beforeDeleteFile",
    afterDelete: "afterDeleteFile",
  };

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
    if (target && target === globalThis.Parse.File) return FILE_CLASS;
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
    return (target, handler, validator) => {
      const name = className(target);
      checkHandler(triggerName, name, handler);
      if (name === FILE_CLASS) {
        if (!FILE_TRIGGERS[triggerName]) {
          throw new TypeError("Parse.Cloud." + triggerName + " cannot be set for Parse.File: its triggers are " +
            Object.keys(FILE_TRIGGERS).join(", "));
        }
        return addTrigger(FILE_CLASS, FILE_TRIGGERS[triggerName], handler, validator);
      }
      addTrigger(name, triggerName, handler, validator);
    };
  }

  function addTrigger(name, triggerName, handler, validator) {
    const key = triggerKey(name, triggerName);
    triggers.set(key, { className: name, triggerName, handler });
    setValidator(key, validator);
  }

  function setValidator(key, validator) {
    if (validator === undefined || validator === null) {
      validators.delete(key);
      return;
    }
    if (typeof validator !== "object" && typeof validator !== "function") {
      throw new TypeError("a validator must be an options object or a function");
    }
    validators.set(key, validator);
  }

  /** A rejection of a validator: thrown strings and errors become 142, as Parse Server's. */
  function validationError(thrown) {
    if (thrown instanceof ParseError) return thrown;
    if (!thrown) return new ParseError(ParseError.VALIDATION_ERROR, "Validation failed.");
    return new ParseError(ParseError.VALIDATION_ERROR, typeof thrown === "string" ? thrown : thrown.message || String(thrown));
  }

  /** The lower-case type name a `type` option stands for (String -> "string"). */
  function typeName(type) {
    const match = type && type.toString().match(/^\s*function (\w+)/);
    return (match ? match[1] : "").toLowerCase();
  }

  async function checkOption(option, key, value) {
    let allowed = option.options;
    if (typeof allowed === "function") {
      let result;
      try {
        result = await allowed(value);
      } catch (thrown) {
        throw option.error || (thrown && thrown.message) || thrown || "Validation failed. Invalid value for " + key + ".";
      }
      if (!result && result != null) throw option.error || "Validation failed. Invalid value for " + key + ".";
      return;
    }
    if (!Array.isArray(allowed)) allowed = [allowed];
    if (!allowed.includes(value)) {
      throw option.error || "Validation failed. Invalid option for " + key + ". Expected: " + allowed.join(", ");
    }
  }

  /** Parse Server's built-in validator options, checked in its order and with its messages. */
  async function checkOptions(options, request, roles) {
    if (request.master && !options.validateMasterKey) return;
    let user = request.user;
    if (!user && request.object && request.object.className === "_User" && !request.object.existed()) user = request.object;
    if ((options.requireUser || options.requireAnyUserRoles || options.requireAllUserRoles) && !user) {
      throw "Validation failed. Please login to continue.";
    }
    if (options.requireMaster && !request.master) {
      throw "Validation failed. Master key is required to complete this request.";
    }
    const params = request.object ? request.object.toJSON() : request.params || {};
    const required = (key) => {
      if (params[key] == null) throw "Validation failed. Please specify data for " + key + ".";
    };
    if (Array.isArray(options.fields)) {
      options.fields.forEach(required);
    } else if (options.fields && typeof options.fields === "object") {
      const pending = [];
      for (const key of Object.keys(options.fields)) {
        const option = options.fields[key];
        let value = params[key];
        if (typeof option === "string") required(option);
        if (!option || typeof option !== "object") continue;
        if (option.default != null && value == null) {
          value = typeof option.default === "function" ? option.default() : option.default;
          params[key] = value;
          if (request.object) request.object.set(key, value);
          else if (request.params) request.params[key] = value;
        }
        if (option.constant && request.object) {
          if (request.original) request.object.revert(key);
          else if (option.default != null) request.object.set(key, option.default);
        }
        if (option.required) required(key);
        if (!option.required && value === undefined) continue;
        if (option.type) {
          const expected = typeName(option.type);
          const actual = Array.isArray(value) ? "array" : typeof value;
          if (actual !== expected) throw option.error || "Validation failed. Invalid type for " + key + ". Expected: " + expected;
        }
        if (option.options) pending.push(checkOption(option, key, value));
      }
      await Promise.all(pending);
    }
    let anyRoles = options.requireAnyUserRoles;
    let allRoles = options.requireAllUserRoles;
    if (typeof anyRoles === "function") anyRoles = await anyRoles();
    if (typeof allRoles === "function") allRoles = await allRoles();
    if (Array.isArray(anyRoles) && !anyRoles.some((role) => roles.includes(role))) {
      throw "Validation failed. User does not match the required roles.";
    }
    if (Array.isArray(allRoles) && !allRoles.every((role) => roles.includes(role))) {
      throw "Validation failed. User does not match all the required roles.";
    }
    const userKeys = options.requireUserKeys || [];
    if (Array.isArray(userKeys)) {
      for (const key of userKeys) {
        if (!user) throw "Please login to make this request.";
        if (user.get(key) == null) throw "Validation failed. Please set data for " + key + " on your account.";
      }
    } else if (typeof userKeys === "object") {
      await Promise.all(Object.keys(userKeys).map((key) =>
        userKeys[key] && userKeys[key].options ? checkOption(userKeys[key], key, user ? user.get(key) : undefined) : null));
    }
  }

  /**
   * Runs the validator registered under `key` (if any) before the handler; resolves to
   * whether the handler should be skipped (`skipWithMasterKey` with the master key).
   */
  function validate(key, request, wire) {
    const validator = validators.get(key);
    if (!validator) return null;
    const skip = typeof validator === "object" && !!validator.skipWithMasterKey && request.master;
    return Promise.resolve()
      .then(() => (typeof validator === "object" ? checkOptions(validator, request, wire.roles || []) : validator(request)))
      .then(() => skip, (thrown) => { throw validationError(thrown); });
  }

  /** Runs `handler` after the validator of `key`; a handler skipped answers `skipped`. */
  function validated(key, request, wire, handler, skipped) {
    const check = validate(key, request, wire);
    if (!check) return handler();
    return check.then((skip) => (skip ? skipped() : handler()));
  }

  /**
   * The Parse error a thrown value stands for (same rules as Parse Server's resolveError):
   * anything but a Parse.Error gets `code`, 141 unless the caller says otherwise.
   */
  function toParseError(thrown, code = ParseError.SCRIPT_FAILED) {
    if (thrown instanceof ParseError) return { code: thrown.code, error: thrown.message };
    if (!thrown) return { code, error: "Script failed." };
    if (typeof thrown === "string") return { code, error: thrown };
    return { code, error: thrown.message || thrown };
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
  const failure = (thrown, fallbackCode) => {
    const { code, error } = toParseError(thrown, fallbackCode);
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
  function settle(result, done, fail = failure) {
    if (result && typeof result.then === "function") {
      return Promise.resolve(result).then(done).then(undefined, fail);
    }
    return done(result);
  }

  function runFunction(name, requestJson) {
    const handler = functions.get(name);
    if (!handler) {
      return refused(ParseError.SCRIPT_FAILED, 'Invalid function: "' + name + '"');
    }
    try {
      const wire = JSON.parse(requestJson);
      const request = functionRequest(name, wire);
      const run = () => invoke(handler, request);
      // skipWithMasterKey skips triggers only: a function still runs (as Parse Server).
      return settle(validated(name, request, wire, run, run), reply);
    } catch (thrown) {
      return failure(thrown);
    }
  }

  /**
   * Runs a trigger. beforeSave gets the object as the SDK would build it (stored fields plus
   * the write as dirty changes, so `dirty()` works) and answers the write as the handler left
   * it; every trigger answers its context, so what beforeSave put there reaches afterSave.
   */
  function runTrigger(triggerName, className, requestJson) {
    const key = triggerKey(className, triggerName);
    const { handler } = triggers.get(key) || {};
    if (!handler) {
      return refused(ParseError.SCRIPT_FAILED, "No " + triggerName + " trigger for " + className);
    }
    try {
      const wire = JSON.parse(requestJson);
      if (className === FILE_CLASS) return runFileTrigger(key, handler, triggerName, wire);
      if (triggerName === AUTH_PROVIDER) return runAuthProvider(handler, className, wire);
      if (triggerName === "beforeFind") return runBeforeFind(key, handler, className, wire);
      if (triggerName === "afterFind") return runAfterFind(key, handler, className, wire);
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
      return settle(validated(key, request, wire, () => invoke(handler, request), () => undefined), answered);
    } catch (thrown) {
      return failure(thrown);
    }
  }

  /** The fields a find trigger's request has: the query as a Parse.Query, count, isGet. */
  function findRequest(triggerName, className, wire) {
    const request = baseRequest(wire, triggerName + " " + className);
    request.triggerName = triggerName;
    request.query = globalThis.Parse.Query.fromJSON(className, wire.query || { where: {} });
    request.count = !!wire.count;
    request.isGet = !!wire.isGet;
    return request;
  }

  /** A Parse.Object (or JSON) as the REST JSON of a stored object, for the answer. */
  function objectJSON(object) {
    if (object && typeof object.toJSON === "function" && object.className) {
      const json = encode(object, true);
      delete json.__type;
      delete json.className;
      return json;
    }
    return object;
  }

  /**
   * beforeFind: the handler may change `request.query`, return another Parse.Query, or return
   * objects (a Parse.Object or an array of them) to answer without reading the database.
   * Answers the query to run, or the objects.
   */
  function runBeforeFind(key, handler, className, wire) {
    const request = findRequest("beforeFind", className, wire);
    const answered = (result) => {
      const Parse = globalThis.Parse;
      if (result instanceof Parse.Object) return done({ objects: [objectJSON(result)] });
      if (Array.isArray(result) && result.every((o) => o instanceof Parse.Object)) {
        return done({ objects: result.map(objectJSON) });
      }
      const query = result instanceof Parse.Query ? result : request.query;
      return done({ query: query.toJSON() });
    };
    return settle(validated(key, request, wire, () => invoke(handler, request), () => request.query), answered);
  }

  /** afterFind: the handler may change `request.objects` or return the objects to answer. */
  function runAfterFind(key, handler, className, wire) {
    const request = findRequest("afterFind", className, wire);
    const fromJSON = (json) => globalThis.Parse.Object.fromJSON(Object.assign({}, json, { className: json.className || className }));
    request.objects = (wire.objects || []).map(fromJSON);
    const answered = (result) => {
      const objects = Array.isArray(result) ? result : request.objects;
      return done({ objects: objects.map(objectJSON) });
    };
    return settle(validated(key, request, wire, () => invoke(handler, request), () => request.objects), answered);
  }

  /** The file a file trigger sees: a Parse.File with its data (beforeSaveFile) or its URL. */
  function fileFromWire(json) {
    const data = typeof json.base64 === "string" ? { base64: json.base64 } : undefined;
    const file = new globalThis.Parse.File(json.name, data, json.contentType, json.metadata, json.tags);
    if (json.url) file._url = json.url;
    return file;
  }

  /**
   * What beforeSaveFile leaves to store (src/api/file_triggers.rs `AnsweredFile`): the file
   * it returned, else the one it was given as it left it. The bytes travel back only when
   * they changed.
   */
  function fileAnswer(file, sent) {
    const source = file._source || {};
    const answer = {
      name: file.name(),
      url: file.url(),
      contentType: source.type || (file._data === sent.base64 ? sent.contentType : undefined),
      metadata: file.metadata(),
      tags: file.tags(),
    };
    if (file._data !== undefined && file._data === sent.base64) answer.sameData = true;
    else if (typeof file._data === "string") answer.base64 = file._data;
    return answer;
  }

  /**
   * Runs a file trigger with `request.file` and `request.fileSize`, as Parse Server's
   * maybeRunFileTrigger: what is thrown refuses the upload (130) or the delete (153) unless
   * it is a Parse.Error; beforeSaveFile answers the file to store.
   */
  function runFileTrigger(key, handler, triggerName, wire) {
    const fallback = triggerName.endsWith("DeleteFile") ? ParseError.FILE_DELETE_ERROR : ParseError.FILE_SAVE_ERROR;
    const fail = (thrown) => failure(thrown, fallback);
    try {
      const request = baseRequest(wire, triggerName + " Parse.File");
      request.triggerName = triggerName;
      request.file = fileFromWire(wire.file || {});
      request.fileSize = wire.fileSize == null ? null : wire.fileSize;
      const answered = (result) => {
        if (triggerName !== "beforeSaveFile") return done({});
        const file = result instanceof globalThis.Parse.File ? result : request.file;
        return done({ file: fileAnswer(file, wire.file || {}) });
      };
      return settle(validated(key, request, wire, () => invoke(handler, request), () => undefined), answered, fail);
    } catch (thrown) {
      return fail(thrown);
    }
  }

  /**
   * Runs an auth adapter: `handler(authData, request)` resolves to accept the identity (or to
   * `{ save: {...} }` to store other data for it) and throws to refuse it.
   */
  function runAuthProvider(handler, provider, wire) {
    const request = baseRequest(wire, "authProvider " + provider);
    request.provider = provider;
    const answered = (result) => {
      const save = result && typeof result === "object" && result.save && typeof result.save === "object"
        ? result.save : undefined;
      return done(save ? { save } : {});
    };
    return settle(handler(wire.authData, request), answered);
  }

  /**
   * Runs a background job. Progress (`status.message` / `request.message`) is written to the
   * run's `_JobStatus` in order; a message after success or error is ignored (the seed).
   * Answers `{"message": …}` when the job succeeds, the error when it fails.
   */
  function runJob(name, requestJson) {
    const handler = jobs.get(name);
    if (!handler) {
      return refused(ParseError.SCRIPT_FAILED, "Invalid job.");
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
        .then(() => op_parse_request({ method: "PUT", path: "jobs/status/" + wire.jobId, body, auth }, scopeId()))
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
   * in Rust; a trigger's `name` is its kind (beforeSave …) and `className` its class. The handler runs in a request scope of its own, which everything it schedules
   * keeps, so calls interleaving on this runtime (nested triggers included) never see each
   * other's credentials, tag or budget.
   */
  function dispatch(kind, name, requestJson, id, className) {
    const scope = new RequestScope(Number(id), kind === "trigger" ? name + " " + className : kind + " " + name);
    return inScope(scope, () => {
      if (kind === "trigger") return runTrigger(name, className, requestJson);
      if (kind === "job") return runJob(name, requestJson);
      return runFunction(name, requestJson);
    });
  }

  /** Names of everything main.js registered, for the server's registry and start-up log. */
  function handlers() {
    return {
      functions: [...functions.keys()],
      jobs: [...jobs.keys()],
      triggers: [...triggers.values()].map(({ className, triggerName }) => ({ className, triggerName })),
    };
  }

  /**
   * The tables main.js fills, which make up one release of the cloud code. A new release is
   * loaded into empty tables and set aside (`staged`) while the current ones keep serving;
   * it replaces them only on `commit`, once every worker has loaded it, so a main.js that
   * fails to load on any worker changes nothing. The dispatcher reads the tables only when a
   * call starts: calls in flight finish on the handlers they started with.
   */
  const tables = [functions, jobs, triggers, validators];
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
    define(name, handler, validator) {
      checkHandler("define", name, handler);
      functions.set(name, handler);
      setValidator(name, validator);
    },
    /** Starts background job `name` (as the master key); resolves to its `_JobStatus` id. */
    startJob(name, params) {
      return internals.sdk
        .request("POST", "jobs/" + name, encode(params || {}), { useMasterKey: true })
        .then((answer) => answer.jobStatusId);
    },
    /** The `_JobStatus` of a run, as a Parse.Object. */
    getJobStatus(jobStatusId) {
      return new globalThis.Parse.Query("_JobStatus").get(jobStatusId, { useMasterKey: true });
    },
    /** `{jobs, in_use}`: the jobs defined and those a schedule uses. */
    getJobsData() {
      return internals.sdk.request("GET", "cloud_code/jobs/data", {}, { useMasterKey: true });
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
  for (const triggerName of TRIGGER_NAMES.concat(FIND_TRIGGERS)) Cloud[triggerName] = registerTrigger(triggerName);
  for (const [triggerName, target] of Object.entries(SESSION_TRIGGERS)) {
    Cloud[triggerName] = (handler, validator) => registerTrigger(triggerName)(target, handler, validator);
  }
  // Parse Server 4's names of the Parse.File triggers.
  for (const [objectTrigger, fileTrigger] of Object.entries(FILE_TRIGGERS)) {
    Cloud[fileTrigger] = (handler, validator) => registerTrigger(objectTrigger)(FILE_CLASS, handler, validator);
  }
  /**
   * Registers the validation of authData provider `name` (cloudrt's counterpart of Parse
   * Server's auth adapters): sign-ups, log-ins and links naming it run `handler(authData,
   * request)`; throwing refuses them.
   */
  Cloud.authProvider = (name, handler) => {
    checkHandler(AUTH_PROVIDER, name, handler);
    triggers.set(triggerKey(name, AUTH_PROVIDER), { className: name, triggerName: AUTH_PROVIDER, handler });
  };
  globalThis.Parse.Cloud = Cloud;

  /**
   * Parse.Config from cloud code: the app's `_GlobalConfig` params, read through `GET config`
   * as the caller (the master key also sees master-only params), saved with the master key.
   */
  let currentConfig = null;
  class ParseConfig {
    constructor(params) {
      this.attributes = params || {};
    }
    get(key) {
      return this.attributes[key];
    }
    escape(key) {
      const value = this.attributes[key];
      if (value == null) return "";
      return String(value).replace(/[&<>"'/]/g, (c) => "&#" + c.charCodeAt(0) + ";");
    }
    static current() {
      return currentConfig || new ParseConfig({});
    }
    static get(options) {
      return internals.sdk.request("GET", "config", {}, options).then((answer) => {
        currentConfig = new ParseConfig(decode(answer.params || {}));
        return currentConfig;
      });
    }
    static save(attrs, masterKeyOnlyFlags) {
      const body = { params: encode(attrs || {}) };
      if (masterKeyOnlyFlags) body.masterKeyOnly = masterKeyOnlyFlags;
      return internals.sdk.request("PUT", "config", body, { useMasterKey: true }).then(() => ParseConfig.get({ useMasterKey: true }));
    }
  }
  globalThis.Parse.Config = ParseConfig;

  internals.dispatch = dispatch;
  internals.stage = stage;
  internals.commit = commit;
  internals.abort = abort;
})(globalThis);
