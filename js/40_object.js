// Parse.Object and the Parse value types cloud code stores in objects (Parse.ACL, Parse.GeoPoint,
// Parse.Polygon, Parse.File, Parse.Relation, Parse.Op), the wire encoding of all of them, and the
// one door to the data: op_parse_request. Behaves like the official `parse` npm SDK (v5+) in its
// server mode (every instance holds its own state, no current user), plus Parse.com's
// `{success, error}` callback options so old cloud code runs unchanged.
"use strict";

((globalThis) => {
  const internals = globalThis.__cloudrtInternals;
  const Parse = globalThis.Parse;
  const ParseError = Parse.Error;
  const { op_parse_request } = globalThis.Deno.core.ops;

  /** Shared with 50_query.js and 60_user.js (they add ParseQuery, ParseUser …). */
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

  // ---------------------------------------------------------------------------------------------
  // Talking to the server
  // ---------------------------------------------------------------------------------------------

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

  // ---------------------------------------------------------------------------------------------
  // Encoding / decoding
  // ---------------------------------------------------------------------------------------------

  /**
   * The SDK's encode. Objects become pointers when `forcePointers`, when already `seen`, when dirty
   * or when never fetched; otherwise full `{"__type":"Object"}` JSON. `lenient` is the mode used
   * for function results: every object with data is sent in full (with its current values), and
   * nothing throws (unsaved objects/files, invalid dates).
   */
  function encodeValue(value, disallowObjects, forcePointers, seen, lenient) {
    if (value instanceof ParseObject) {
      if (disallowObjects) throw new Error("Parse Objects not allowed here");
      const entry = value.id ? value.className + ":" + value.id : value;
      seen = seen || [];
      if (lenient) {
        const attributes = value.attributes;
        if (value.id && (seen.includes(entry) || Object.keys(attributes).length === 0)) {
          return value.toPointer();
        }
        if (seen.includes(entry)) return { __type: "Object", className: value.className };
        return value._toResultJSON(seen.concat([entry]), attributes);
      }
      if (forcePointers || seen.includes(entry) || value.dirty() || !value.isDataAvailable()) {
        return value.toPointer();
      }
      return value._toFullJSON(seen.concat([entry]));
    }
    if (value instanceof Op || value instanceof ParseACL || value instanceof ParseGeoPoint ||
        value instanceof ParsePolygon || value instanceof ParseRelation) {
      return value.toJSON();
    }
    if (value instanceof ParseFile) {
      if (!value.url() && !lenient) throw new Error("Tried to encode an unsaved file.");
      return value.toJSON();
    }
    if (value instanceof ParseError) return value.toJSON();
    const tag = Object.prototype.toString.call(value);
    if (tag === "[object Date]") {
      if (isNaN(value.getTime())) {
        if (lenient) return null;
        throw new Error("Tried to encode an invalid date.");
      }
      return { __type: "Date", iso: value.toJSON() };
    }
    if (tag === "[object RegExp]" && typeof value.source === "string") return value.source;
    if (Array.isArray(value)) {
      return value.map((v) => encodeValue(v, disallowObjects, forcePointers, seen, lenient));
    }
    if (value && typeof value === "object") {
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null && typeof value.toJSON === "function") {
        return encodeValue(value.toJSON(), disallowObjects, forcePointers, seen, lenient);
      }
      const output = {};
      for (const key of Object.keys(value)) {
        if (isDangerousKey(key)) continue;
        const encoded = encodeValue(value[key], disallowObjects, forcePointers, seen, lenient);
        if (encoded !== undefined || !lenient) output[key] = encoded;
      }
      return output;
    }
    return value;
  }

  /** The SDK's decode: wire JSON -> Dates, Parse.Objects, GeoPoints, Files, Relations, Ops. */
  function decode(value) {
    if (value === null || typeof value !== "object" || value instanceof Date) return value;
    if (Array.isArray(value)) return value.map(decode);
    if (typeof value.__op === "string") return opFromJSON(value);
    if ((value.__type === "Pointer" || value.__type === "Object") && value.className) {
      return ParseObject.fromJSON(value);
    }
    if (value.__type === "Relation") {
      const relation = new ParseRelation(null, null);
      relation.targetClassName = value.className;
      return relation;
    }
    if (value.__type === "Date" && typeof value.iso === "string") return new Date(value.iso);
    if (value.__type === "File") return ParseFile.fromJSON(value);
    if (value.__type === "GeoPoint") {
      return new ParseGeoPoint({ latitude: value.latitude, longitude: value.longitude });
    }
    if (value.__type === "Polygon") return new ParsePolygon(value.coordinates);
    // {"__type":"Bytes","base64":…} stays as it is, as in the SDK.
    const copy = {};
    for (const key of Object.keys(value)) {
      if (isDangerousKey(key)) continue;
      copy[key] = decode(value[key]);
    }
    return copy;
  }

  function parseDate(value) {
    if (value instanceof Date) return value;
    if (typeof value === "string") {
      const date = new Date(value);
      return isNaN(date.getTime()) ? null : date;
    }
    if (value && typeof value === "object" && value.__type === "Date") return new Date(value.iso);
    return null;
  }

  function arrayContainsObject(array, object) {
    if (array.indexOf(object) > -1) return true;
    for (const item of array) {
      if (item instanceof ParseObject && item.className === object.className &&
          item._getId() === object._getId()) {
        return true;
      }
    }
    return false;
  }

  function unique(array) {
    const uniques = [];
    for (const value of array) {
      if (value instanceof ParseObject) {
        if (!arrayContainsObject(uniques, value)) uniques.push(value);
      } else if (uniques.indexOf(value) < 0) {
        uniques.push(value);
      }
    }
    return uniques;
  }

  // ---------------------------------------------------------------------------------------------
  // Ops (pending changes, sent as REST `__op`s)
  // ---------------------------------------------------------------------------------------------

  class Op {
    applyTo() {}
    mergeWith() {}
    toJSON() {}
  }

  class SetOp extends Op {
    constructor(value) {
      super();
      this._value = value;
    }
    applyTo() {
      return this._value;
    }
    mergeWith() {
      return new SetOp(this._value);
    }
    toJSON() {
      return encodeValue(this._value, false, true);
    }
  }

  class UnsetOp extends Op {
    applyTo() {
      return undefined;
    }
    mergeWith() {
      return new UnsetOp();
    }
    toJSON() {
      return { __op: "Delete" };
    }
  }

  class IncrementOp extends Op {
    constructor(amount) {
      super();
      if (typeof amount !== "number") {
        throw new TypeError("Increment Op must be initialized with a numeric amount.");
      }
      this._amount = amount;
    }
    applyTo(value) {
      if (value === undefined) return this._amount;
      if (typeof value !== "number") throw new TypeError("Cannot increment a non-numeric value.");
      return this._amount + value;
    }
    mergeWith(previous) {
      if (!previous) return this;
      if (previous instanceof SetOp) return new SetOp(this.applyTo(previous._value));
      if (previous instanceof UnsetOp) return new SetOp(this._amount);
      if (previous instanceof IncrementOp) return new IncrementOp(this.applyTo(previous._amount));
      throw new Error("Cannot merge Increment Op with the previous Op");
    }
    toJSON() {
      return { __op: "Increment", amount: this._amount };
    }
  }

  class AddOp extends Op {
    constructor(value) {
      super();
      this._value = Array.isArray(value) ? value : [value];
    }
    applyTo(value) {
      if (value == null) return this._value;
      if (Array.isArray(value)) return value.concat(this._value);
      throw new Error("Cannot add elements to a non-array value");
    }
    mergeWith(previous) {
      if (!previous) return this;
      if (previous instanceof SetOp) return new SetOp(this.applyTo(previous._value));
      if (previous instanceof UnsetOp) return new SetOp(this._value);
      if (previous instanceof AddOp) return new AddOp(this.applyTo(previous._value));
      throw new Error("Cannot merge Add Op with the previous Op");
    }
    toJSON() {
      return { __op: "Add", objects: encodeValue(this._value, false, true) };
    }
  }

  class AddUniqueOp extends Op {
    constructor(value) {
      super();
      this._value = unique(Array.isArray(value) ? value : [value]);
    }
    applyTo(value) {
      if (value == null) return this._value || [];
      if (Array.isArray(value)) {
        const toAdd = [];
        for (const v of this._value) {
          if (v instanceof ParseObject) {
            if (!arrayContainsObject(value, v)) toAdd.push(v);
          } else if (value.indexOf(v) < 0) {
            toAdd.push(v);
          }
        }
        return value.concat(toAdd);
      }
      throw new Error("Cannot add elements to a non-array value");
    }
    mergeWith(previous) {
      if (!previous) return this;
      if (previous instanceof SetOp) return new SetOp(this.applyTo(previous._value));
      if (previous instanceof UnsetOp) return new SetOp(this._value);
      if (previous instanceof AddUniqueOp) return new AddUniqueOp(this.applyTo(previous._value));
      throw new Error("Cannot merge AddUnique Op with the previous Op");
    }
    toJSON() {
      return { __op: "AddUnique", objects: encodeValue(this._value, false, true) };
    }
  }

  class RemoveOp extends Op {
    constructor(value) {
      super();
      this._value = unique(Array.isArray(value) ? value : [value]);
    }
    applyTo(value) {
      if (value == null) return [];
      if (Array.isArray(value)) {
        const removed = value.concat([]);
        for (const item of this._value) {
          let index = removed.indexOf(item);
          while (index > -1) {
            removed.splice(index, 1);
            index = removed.indexOf(item);
          }
          if (item instanceof ParseObject && item.id) {
            for (let j = 0; j < removed.length; j++) {
              if (removed[j] instanceof ParseObject && item.id === removed[j].id) {
                removed.splice(j, 1);
                j--;
              }
            }
          }
        }
        return removed;
      }
      throw new Error("Cannot remove elements from a non-array value");
    }
    mergeWith(previous) {
      if (!previous) return this;
      if (previous instanceof SetOp) return new SetOp(this.applyTo(previous._value));
      if (previous instanceof UnsetOp) return new UnsetOp();
      if (previous instanceof RemoveOp) {
        const uniques = previous._value.concat([]);
        for (const item of this._value) {
          if (item instanceof ParseObject) {
            if (!arrayContainsObject(uniques, item)) uniques.push(item);
          } else if (uniques.indexOf(item) < 0) {
            uniques.push(item);
          }
        }
        return new RemoveOp(uniques);
      }
      throw new Error("Cannot merge Remove Op with the previous Op");
    }
    toJSON() {
      return { __op: "Remove", objects: encodeValue(this._value, false, true) };
    }
  }

  class RelationOp extends Op {
    constructor(adds, removes) {
      super();
      this._targetClassName = null;
      this.relationsToAdd = [];
      this.relationsToRemove = [];
      if (Array.isArray(adds)) this.relationsToAdd = unique(adds.map(this._extractId, this));
      if (Array.isArray(removes)) this.relationsToRemove = unique(removes.map(this._extractId, this));
    }
    _extractId(obj) {
      if (typeof obj === "string") return obj;
      if (!obj || !obj.id) {
        throw new Error("You cannot add or remove an unsaved Parse Object from a relation");
      }
      if (!this._targetClassName) this._targetClassName = obj.className;
      if (this._targetClassName !== obj.className) {
        throw new Error("Tried to create a Relation with 2 different object types: " +
          this._targetClassName + " and " + obj.className + ".");
      }
      return obj.id;
    }
    applyTo(value, parent, key) {
      if (!value) {
        if (!parent || !key) {
          throw new Error("Cannot apply a RelationOp without either a previous value, or an object and a key");
        }
        const relation = new ParseRelation(parent, key);
        relation.targetClassName = this._targetClassName;
        return relation;
      }
      if (value instanceof ParseRelation) {
        if (this._targetClassName) {
          if (value.targetClassName) {
            if (this._targetClassName !== value.targetClassName) {
              throw new Error("Related object must be a " + value.targetClassName + ", but a " +
                this._targetClassName + " was passed in.");
            }
          } else {
            value.targetClassName = this._targetClassName;
          }
        }
        return value;
      }
      throw new Error("Relation cannot be applied to a non-relation field");
    }
    mergeWith(previous) {
      if (!previous) return this;
      if (previous instanceof UnsetOp) throw new Error("You cannot modify a relation after deleting it.");
      if (previous instanceof SetOp && previous._value instanceof ParseRelation) return this;
      if (previous instanceof RelationOp) {
        if (previous._targetClassName && previous._targetClassName !== this._targetClassName) {
          throw new Error("Related object must be of class " + previous._targetClassName + ", but " +
            (this._targetClassName || "null") + " was passed in.");
        }
        const newAdd = previous.relationsToAdd.concat([]);
        for (const r of this.relationsToRemove) {
          const index = newAdd.indexOf(r);
          if (index > -1) newAdd.splice(index, 1);
        }
        for (const r of this.relationsToAdd) {
          if (newAdd.indexOf(r) < 0) newAdd.push(r);
        }
        const newRemove = previous.relationsToRemove.concat([]);
        for (const r of this.relationsToAdd) {
          const index = newRemove.indexOf(r);
          if (index > -1) newRemove.splice(index, 1);
        }
        for (const r of this.relationsToRemove) {
          if (newRemove.indexOf(r) < 0) newRemove.push(r);
        }
        const merged = new RelationOp(newAdd, newRemove);
        merged._targetClassName = this._targetClassName;
        return merged;
      }
      throw new Error("Cannot merge Relation Op with the previous Op");
    }
    toJSON() {
      const idToPointer = (id) => ({ __type: "Pointer", className: this._targetClassName, objectId: id });
      let adds = null;
      let removes = null;
      if (this.relationsToAdd.length > 0) {
        adds = { __op: "AddRelation", objects: this.relationsToAdd.map(idToPointer) };
      }
      if (this.relationsToRemove.length > 0) {
        removes = { __op: "RemoveRelation", objects: this.relationsToRemove.map(idToPointer) };
      }
      if (adds && removes) return { __op: "Batch", ops: [adds, removes] };
      return adds || removes || {};
    }
  }

  function opFromJSON(json) {
    if (!json || !json.__op) return null;
    switch (json.__op) {
      case "Delete":
        return new UnsetOp();
      case "Increment":
        return new IncrementOp(json.amount);
      case "Add":
        return new AddOp(decode(json.objects));
      case "AddUnique":
        return new AddUniqueOp(decode(json.objects));
      case "Remove":
        return new RemoveOp(decode(json.objects));
      case "AddRelation": {
        const toAdd = decode(json.objects);
        return new RelationOp(Array.isArray(toAdd) ? toAdd : [], []);
      }
      case "RemoveRelation": {
        const toRemove = decode(json.objects);
        return new RelationOp([], Array.isArray(toRemove) ? toRemove : []);
      }
      case "Batch": {
        let toAdd = [];
        let toRemove = [];
        for (const op of json.ops || []) {
          if (op.__op === "AddRelation") toAdd = toAdd.concat(decode(op.objects));
          else if (op.__op === "RemoveRelation") toRemove = toRemove.concat(decode(op.objects));
        }
        return new RelationOp(toAdd, toRemove);
      }
    }
    return null;
  }

  // ---------------------------------------------------------------------------------------------
  // Parse.ACL
  // ---------------------------------------------------------------------------------------------

  const PUBLIC_KEY = "*";

  /** A user/role/id argument of the ACL setters -> the ACL key. */
  function aclKey(userId, forGet) {
    if (userId instanceof ParseObject && userId.className === "_Role") {
      const name = userId.getName();
      if (!name) throw new TypeError("Role must have a name");
      return "role:" + name;
    }
    if (userId instanceof ParseObject) {
      if (forGet && !userId.id) throw new Error("Cannot get access for a ParseUser without an ID");
      return userId.id;
    }
    return userId;
  }

  function roleName(role) {
    if (role instanceof ParseObject && role.className === "_Role") role = role.getName();
    if (typeof role !== "string") throw new TypeError("role must be a ParseRole or a String");
    return role;
  }

  class ParseACL {
    constructor(arg1) {
      this.permissionsById = {};
      if (arg1 && typeof arg1 === "object") {
        if (arg1 instanceof ParseObject) {
          this.setReadAccess(arg1, true);
          this.setWriteAccess(arg1, true);
        } else {
          for (const userId of Object.keys(arg1)) {
            if (isDangerousKey(userId)) continue;
            const accessList = arg1[userId];
            this.permissionsById[userId] = {};
            for (const permission of Object.keys(accessList || {})) {
              const allowed = accessList[permission];
              if (permission !== "read" && permission !== "write") {
                throw new TypeError("Tried to create an ACL with an invalid permission type.");
              }
              if (typeof allowed !== "boolean") {
                throw new TypeError("Tried to create an ACL with an invalid permission value.");
              }
              this.permissionsById[userId][permission] = allowed;
            }
          }
        }
      } else if (typeof arg1 === "function") {
        throw new TypeError("ParseACL constructed with a function. Did you forget ()?");
      }
    }
    toJSON() {
      const permissions = {};
      for (const p of Object.keys(this.permissionsById)) permissions[p] = this.permissionsById[p];
      return permissions;
    }
    equals(other) {
      if (!(other instanceof ParseACL)) return false;
      const users = Object.keys(this.permissionsById);
      if (users.length !== Object.keys(other.permissionsById).length) return false;
      for (const u of users) {
        const mine = this.permissionsById[u];
        const theirs = other.permissionsById[u];
        if (!theirs || mine.read !== theirs.read || mine.write !== theirs.write) return false;
      }
      return true;
    }
    _setAccess(accessType, userId, allowed) {
      userId = aclKey(userId, false);
      if (typeof userId !== "string") throw new TypeError("userId must be a string.");
      if (typeof allowed !== "boolean") throw new TypeError("allowed must be either true or false.");
      let permissions = this.permissionsById[userId];
      if (!permissions) {
        if (!allowed) return;
        permissions = {};
        this.permissionsById[userId] = permissions;
      }
      if (allowed) {
        permissions[accessType] = true;
      } else {
        delete permissions[accessType];
        if (Object.keys(permissions).length === 0) delete this.permissionsById[userId];
      }
    }
    _getAccess(accessType, userId) {
      userId = aclKey(userId, true);
      const permissions = this.permissionsById[userId];
      return !!(permissions && permissions[accessType]);
    }
    setReadAccess(userId, allowed) {
      this._setAccess("read", userId, allowed);
    }
    getReadAccess(userId) {
      return this._getAccess("read", userId);
    }
    setWriteAccess(userId, allowed) {
      this._setAccess("write", userId, allowed);
    }
    getWriteAccess(userId) {
      return this._getAccess("write", userId);
    }
    setPublicReadAccess(allowed) {
      this.setReadAccess(PUBLIC_KEY, allowed);
    }
    getPublicReadAccess() {
      return this.getReadAccess(PUBLIC_KEY);
    }
    setPublicWriteAccess(allowed) {
      this.setWriteAccess(PUBLIC_KEY, allowed);
    }
    getPublicWriteAccess() {
      return this.getWriteAccess(PUBLIC_KEY);
    }
    getRoleReadAccess(role) {
      return this.getReadAccess("role:" + roleName(role));
    }
    getRoleWriteAccess(role) {
      return this.getWriteAccess("role:" + roleName(role));
    }
    setRoleReadAccess(role, allowed) {
      this.setReadAccess("role:" + roleName(role), allowed);
    }
    setRoleWriteAccess(role, allowed) {
      this.setWriteAccess("role:" + roleName(role), allowed);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Parse.GeoPoint, Parse.Polygon
  // ---------------------------------------------------------------------------------------------

  class ParseGeoPoint {
    constructor(arg1, arg2) {
      if (Array.isArray(arg1)) {
        ParseGeoPoint._validate(arg1[0], arg1[1]);
        this._latitude = arg1[0];
        this._longitude = arg1[1];
      } else if (arg1 && typeof arg1 === "object") {
        ParseGeoPoint._validate(arg1.latitude, arg1.longitude);
        this._latitude = arg1.latitude;
        this._longitude = arg1.longitude;
      } else if (arg1 !== undefined && arg2 !== undefined) {
        ParseGeoPoint._validate(arg1, arg2);
        this._latitude = arg1;
        this._longitude = arg2;
      } else {
        this._latitude = 0;
        this._longitude = 0;
      }
    }
    get latitude() {
      return this._latitude;
    }
    set latitude(value) {
      ParseGeoPoint._validate(value, this.longitude);
      this._latitude = value;
    }
    get longitude() {
      return this._longitude;
    }
    set longitude(value) {
      ParseGeoPoint._validate(this.latitude, value);
      this._longitude = value;
    }
    toJSON() {
      ParseGeoPoint._validate(this._latitude, this._longitude);
      return { __type: "GeoPoint", latitude: this._latitude, longitude: this._longitude };
    }
    equals(other) {
      return other instanceof ParseGeoPoint && this.latitude === other.latitude &&
        this.longitude === other.longitude;
    }
    radiansTo(point) {
      const d2r = Math.PI / 180.0;
      const lat1rad = this.latitude * d2r;
      const long1rad = this.longitude * d2r;
      const lat2rad = point.latitude * d2r;
      const long2rad = point.longitude * d2r;
      const sinDeltaLatDiv2 = Math.sin((lat1rad - lat2rad) / 2);
      const sinDeltaLongDiv2 = Math.sin((long1rad - long2rad) / 2);
      let a = sinDeltaLatDiv2 * sinDeltaLatDiv2 +
        Math.cos(lat1rad) * Math.cos(lat2rad) * sinDeltaLongDiv2 * sinDeltaLongDiv2;
      a = Math.min(1.0, a);
      return 2 * Math.asin(Math.sqrt(a));
    }
    kilometersTo(point) {
      return this.radiansTo(point) * 6371.0;
    }
    milesTo(point) {
      return this.radiansTo(point) * 3958.8;
    }
    static _validate(latitude, longitude) {
      if (typeof latitude !== "number" || typeof longitude !== "number" ||
          isNaN(latitude) || isNaN(longitude)) {
        throw new TypeError("GeoPoint latitude and longitude must be valid numbers");
      }
      if (latitude < -90.0) throw new TypeError("GeoPoint latitude out of bounds: " + latitude + " < -90.0.");
      if (latitude > 90.0) throw new TypeError("GeoPoint latitude out of bounds: " + latitude + " > 90.0.");
      if (longitude < -180.0) throw new TypeError("GeoPoint longitude out of bounds: " + longitude + " < -180.0.");
      if (longitude > 180.0) throw new TypeError("GeoPoint longitude out of bounds: " + longitude + " > 180.0.");
    }
    static current() {
      return Promise.reject(new ParseError(ParseError.OTHER_CAUSE, "Parse.GeoPoint.current() is not available on the server"));
    }
  }

  class ParsePolygon {
    constructor(coordinates) {
      this._coordinates = ParsePolygon._validate(coordinates);
    }
    get coordinates() {
      return this._coordinates;
    }
    set coordinates(coords) {
      this._coordinates = ParsePolygon._validate(coords);
    }
    toJSON() {
      ParsePolygon._validate(this._coordinates);
      return { __type: "Polygon", coordinates: this._coordinates };
    }
    equals(other) {
      if (!(other instanceof ParsePolygon) || this.coordinates.length !== other.coordinates.length) {
        return false;
      }
      for (let i = 0; i < this._coordinates.length; i++) {
        if (this._coordinates[i][0] !== other.coordinates[i][0] ||
            this._coordinates[i][1] !== other.coordinates[i][1]) {
          return false;
        }
      }
      return true;
    }
    containsPoint(point) {
      const coords = this._coordinates;
      let minX = coords[0][0];
      let maxX = coords[0][0];
      let minY = coords[0][1];
      let maxY = coords[0][1];
      for (const p of coords) {
        minX = Math.min(p[0], minX);
        maxX = Math.max(p[0], maxX);
        minY = Math.min(p[1], minY);
        maxY = Math.max(p[1], maxY);
      }
      if (point.latitude < minX || point.latitude > maxX || point.longitude < minY || point.longitude > maxY) {
        return false;
      }
      let inside = false;
      for (let i = 0, j = coords.length - 1; i < coords.length; j = i++) {
        const [startX, startY] = coords[i];
        const [endX, endY] = coords[j];
        const intersect = (startY > point.longitude) !== (endY > point.longitude) &&
          point.latitude < ((endX - startX) * (point.longitude - startY)) / (endY - startY) + startX;
        if (intersect) inside = !inside;
      }
      return inside;
    }
    static _validate(coords) {
      if (!Array.isArray(coords)) throw new TypeError("Coordinates must be an Array");
      if (coords.length < 3) throw new TypeError("Polygon must have at least 3 GeoPoints or Points");
      return coords.map((coord) => {
        let point;
        if (coord instanceof ParseGeoPoint) point = coord;
        else if (Array.isArray(coord) && coord.length === 2) point = new ParseGeoPoint(coord[0], coord[1]);
        else throw new TypeError("Coordinates must be an Array of GeoPoints or Points");
        return [point.latitude, point.longitude];
      });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Parse.File: saved, read and deleted through the server's files routes
  // ---------------------------------------------------------------------------------------------

  const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  function encodeBase64(bytes) {
    let out = "";
    for (let i = 0; i < bytes.length; i += 3) {
      const b0 = bytes[i] & 0xff;
      const b1 = i + 1 < bytes.length ? bytes[i + 1] & 0xff : 0;
      const b2 = i + 2 < bytes.length ? bytes[i + 2] & 0xff : 0;
      out += BASE64[b0 >> 2] + BASE64[((b0 & 3) << 4) | (b1 >> 4)];
      out += i + 1 < bytes.length ? BASE64[((b1 & 15) << 2) | (b2 >> 6)] : "=";
      out += i + 2 < bytes.length ? BASE64[b2 & 63] : "=";
    }
    return out;
  }

  /** The app id and stored name of a file this server serves, read from its URL. */
  function servedFile(url) {
    const match = /\/files\/([^/?#]+)\/([^/?#]+)$/.exec(url || "");
    return match ? { appId: match[1], name: match[2] } : null;
  }

  class ParseFile {
    constructor(name, data, type, metadata, tags) {
      this._name = name;
      this._url = undefined;
      this._metadata = metadata && typeof metadata === "object" ? metadata : {};
      this._tags = tags && typeof tags === "object" ? tags : {};
      this._data = undefined;
      this._source = undefined;
      if (data !== undefined) {
        if (Array.isArray(data) || data instanceof Uint8Array) {
          this._data = encodeBase64(data);
          this._source = { format: "base64", base64: this._data, type };
        } else if (data && typeof data.base64 === "string") {
          const base64 = data.base64.split(",").slice(-1)[0];
          const dataType = type ||
            data.base64.split(";").slice(0, 1)[0].split(":").slice(1, 2)[0] || "text/plain";
          this._data = base64;
          this._source = { format: "base64", base64, type: dataType };
        } else if (data && typeof data.uri === "string") {
          this._source = { format: "uri", uri: data.uri, type };
        } else {
          throw new TypeError("Cannot create a Parse.File with that data.");
        }
      }
    }
    name() {
      return this._name;
    }
    url(options) {
      if (!this._url) return undefined;
      if (options && options.forceSecure) return this._url.replace(/^http:\/\//i, "https://");
      return this._url;
    }
    metadata() {
      return this._metadata;
    }
    tags() {
      return this._tags;
    }
    setMetadata(metadata) {
      if (metadata && typeof metadata === "object") {
        for (const key of Object.keys(metadata)) this.addMetadata(key, metadata[key]);
      }
    }
    addMetadata(key, value) {
      if (typeof key === "string" && !isDangerousKey(key)) this._metadata[key] = value;
    }
    setTags(tags) {
      if (tags && typeof tags === "object") {
        for (const key of Object.keys(tags)) this.addTag(key, tags[key]);
      }
    }
    addTag(key, value) {
      if (typeof key === "string" && !isDangerousKey(key)) this._tags[key] = value;
    }
    /** The bytes as base64: kept from construction, else read from the server (or the URL). */
    async getData() {
      if (this._data) return this._data;
      if (!this._url) throw new Error("Cannot retrieve data for unsaved ParseFile.");
      const served = servedFile(this._url);
      if (served) {
        const answer = await request("GET", "files/" + served.appId + "/" + served.name);
        this._data = answer.base64;
      } else {
        const response = await globalThis.Parse.Cloud.httpRequest({ url: this._url });
        this._data = encodeBase64(response.buffer);
      }
      return this._data;
    }
    /** Uploads the data (a `uri` source is fetched first), then takes the stored name and URL. */
    save(options) {
      const saving = (async () => {
        if (this._url) return this;
        if (!this._source) throw new ParseError(ParseError.FILE_SAVE_ERROR, "Cannot save a Parse.File without data.");
        let { base64, type } = this._source;
        if (this._source.format === "uri") {
          const response = await globalThis.Parse.Cloud.httpRequest({ url: this._source.uri });
          base64 = encodeBase64(response.buffer);
          type = type || response.headers["content-type"];
        }
        const body = { base64, _ContentType: type, fileData: { metadata: this._metadata, tags: this._tags } };
        const answer = await request("POST", "files/" + encodeURIComponent(this._name), body, requestOptions(options));
        this._name = answer.name;
        this._url = answer.url;
        if (!this._data) this._data = base64;
        return this;
      })();
      return withCallbacks(saving, options);
    }
    /** Deletes the stored file, with the master key as the SDK always sends for it. */
    async destroy() {
      if (!this._name) throw new ParseError(ParseError.FILE_DELETE_UNNAMED_ERROR, "Cannot delete an unnamed file.");
      await request("DELETE", "files/" + encodeURIComponent(this._name), undefined, { useMasterKey: true });
      this._data = undefined;
      return this;
    }
    cancel() {}
    toJSON() {
      return { __type: "File", name: this._name, url: this._url };
    }
    equals(other) {
      if (this === other) return true;
      return other instanceof ParseFile && this.name() === other.name() &&
        this.url() === other.url() && typeof this.url() !== "undefined";
    }
    static fromJSON(obj) {
      if (obj.__type !== "File") throw new TypeError("JSON object does not represent a ParseFile");
      const file = new ParseFile(obj.name);
      file._url = obj.url;
      return file;
    }
    static encodeBase64(bytes) {
      return encodeBase64(bytes);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Parse.Relation
  // ---------------------------------------------------------------------------------------------

  class ParseRelation {
    constructor(parent, key) {
      this.parent = parent;
      this.key = key;
      this.targetClassName = null;
    }
    _ensureParentAndKey(parent, key) {
      this.key = this.key || key;
      if (this.key !== key) throw new Error("Internal Error. Relation retrieved from two different keys.");
      if (this.parent) {
        if (this.parent.className !== parent.className) {
          throw new Error("Internal Error. Relation retrieved from two different Objects.");
        }
        if (this.parent.id) {
          if (this.parent.id !== parent.id) {
            throw new Error("Internal Error. Relation retrieved from two different Objects.");
          }
        } else if (parent.id) {
          this.parent = parent;
        }
      } else {
        this.parent = parent;
      }
    }
    add(objects) {
      if (!Array.isArray(objects)) objects = [objects];
      const change = new RelationOp(objects, []);
      const parent = this.parent;
      if (!parent) throw new Error("Cannot add to a Relation without a parent");
      if (objects.length === 0) return parent;
      parent.set(this.key, change);
      this.targetClassName = change._targetClassName;
      return parent;
    }
    remove(objects) {
      if (!Array.isArray(objects)) objects = [objects];
      const change = new RelationOp([], objects);
      if (!this.parent) throw new Error("Cannot remove from a Relation without a parent");
      if (objects.length === 0) return;
      this.parent.set(this.key, change);
      this.targetClassName = change._targetClassName;
    }
    toJSON() {
      return { __type: "Relation", className: this.targetClassName };
    }
    query() {
      const parent = this.parent;
      if (!parent) throw new Error("Cannot construct a query for a Relation without a parent");
      const ParseQuery = sdk.ParseQuery;
      let query;
      if (!this.targetClassName) {
        query = new ParseQuery(parent.className);
        query._extraOptions.redirectClassNameForKey = this.key;
      } else {
        query = new ParseQuery(this.targetClassName);
      }
      query._addCondition("$relatedTo", "object", {
        __type: "Pointer",
        className: parent.className,
        objectId: parent.id,
      });
      query._addCondition("$relatedTo", "key", this.key);
      return query;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Per-object state: server data, pending op sets (a stack while saves are in flight), a cache
  // to notice in-place changes to arrays/objects, and a queue serialising saves.
  // ---------------------------------------------------------------------------------------------

  const STATES = new WeakMap();

  function newState() {
    return {
      serverData: Object.create(null),
      pendingOps: [Object.create(null)],
      objectCache: Object.create(null),
      queue: Promise.resolve(),
      existed: false,
    };
  }

  function stateOf(object) {
    let state = STATES.get(object);
    if (!state) {
      state = newState();
      STATES.set(object, state);
    }
    return state;
  }

  function enqueue(object, task) {
    const state = stateOf(object);
    const run = state.queue.then(() => task());
    state.queue = run.then(noop, noop);
    return run;
  }

  function nestedSet(target, key, value) {
    const paths = key.split(".");
    for (let i = 0; i < paths.length - 1; i++) {
      const path = paths[i];
      if (!(path in target) || target[path] === null || typeof target[path] !== "object") {
        target[path] = isNaN(paths[i + 1]) ? {} : [];
      }
      target = target[path];
    }
    const last = paths[paths.length - 1];
    if (value === undefined) delete target[last];
    else target[last] = value;
  }

  function isCachedValue(value) {
    return value && typeof value === "object" && !(value instanceof ParseObject) &&
      !(value instanceof ParseFile) && !(value instanceof ParseRelation);
  }

  function commitServerChanges(state, changes) {
    for (const attr of Object.keys(changes)) {
      if (isDangerousKey(attr)) continue;
      const value = changes[attr];
      nestedSet(state.serverData, attr, value);
      if (isCachedValue(value)) {
        try {
          state.objectCache[attr] = JSON.stringify(encodeValue(value, false, true));
        } catch (_) {
          delete state.objectCache[attr];
        }
      }
    }
  }

  function estimateAttributes(object) {
    const state = stateOf(object);
    const data = {};
    for (const attr in state.serverData) data[attr] = state.serverData[attr];
    for (const ops of state.pendingOps) {
      for (const attr of Object.keys(ops)) {
        if (isDangerousKey(attr)) continue;
        const op = ops[attr];
        if (op instanceof RelationOp) {
          if (object.id) data[attr] = op.applyTo(data[attr], object, attr);
        } else if (attr.includes(".")) {
          const fields = attr.split(".");
          let target = data;
          for (let i = 0; i < fields.length - 1; i++) {
            const key = fields[i];
            if (!(key in target) || target[key] === null || typeof target[key] !== "object") {
              target[key] = isNaN(fields[i + 1]) ? {} : [];
            } else if (Array.isArray(target[key])) {
              target[key] = [...target[key]];
            } else {
              target[key] = { ...target[key] };
            }
            target = target[key];
          }
          const last = fields[fields.length - 1];
          target[last] = op.applyTo(target[last]);
        } else {
          data[attr] = op.applyTo(data[attr]);
        }
      }
    }
    return data;
  }

  /** Objects and files reachable from `object` that must be saved before it (SDK semantics). */
  function unsavedChildren(object, allowDeepUnsaved) {
    const encountered = { objects: new Map(), files: [] };
    const identifier = object.className + ":" + object._getId();
    encountered.objects.set(identifier, object.dirty() ? object : true);
    const attributes = object.attributes;
    for (const attr of Object.keys(attributes)) {
      if (typeof attributes[attr] === "object") {
        traverse(attributes[attr], encountered, false, !!allowDeepUnsaved);
      }
    }
    const unsaved = [];
    for (const [id, value] of encountered.objects) {
      if (id !== identifier && value !== true) unsaved.push(value);
    }
    return unsaved.concat(encountered.files);
  }

  function traverse(value, encountered, shouldThrow, allowDeepUnsaved) {
    if (value instanceof ParseObject) {
      if (!value.id && shouldThrow) throw new Error("Cannot create a pointer to an unsaved Object.");
      const identifier = value.className + ":" + value._getId();
      if (!encountered.objects.has(identifier)) {
        encountered.objects.set(identifier, value.dirty() ? value : true);
        const attributes = value.attributes;
        for (const attr of Object.keys(attributes)) {
          if (typeof attributes[attr] === "object") {
            traverse(attributes[attr], encountered, !allowDeepUnsaved, allowDeepUnsaved);
          }
        }
      }
      return;
    }
    if (value instanceof ParseFile) {
      if (!value.url() && encountered.files.indexOf(value) < 0) encountered.files.push(value);
      return;
    }
    if (value instanceof ParseRelation || value === null || typeof value !== "object") return;
    if (value instanceof Date || value instanceof ParseACL || value instanceof ParseGeoPoint ||
        value instanceof ParsePolygon || value instanceof Op) {
      return;
    }
    if (Array.isArray(value)) {
      for (const item of value) {
        if (typeof item === "object") traverse(item, encountered, shouldThrow, allowDeepUnsaved);
      }
      return;
    }
    for (const key of Object.keys(value)) {
      if (typeof value[key] === "object") traverse(value[key], encountered, shouldThrow, allowDeepUnsaved);
    }
  }

  /** True when every object `object` points to has an id (so it can go in this batch). */
  function canBeSerialized(object) {
    if (!(object instanceof ParseObject)) return true;
    const attributes = object.attributes;
    for (const attr of Object.keys(attributes)) {
      if (!canBeSerializedHelper(attributes[attr])) return false;
    }
    return true;
  }

  function canBeSerializedHelper(value) {
    if (value === null || typeof value !== "object") return true;
    if (value instanceof ParseRelation) return true;
    if (value instanceof ParseObject) return !!value.id;
    if (value instanceof ParseFile) return !!value.url();
    if (Array.isArray(value)) return value.every(canBeSerializedHelper);
    if (value instanceof Date || value instanceof ParseACL || value instanceof ParseGeoPoint) return true;
    for (const key of Object.keys(value)) {
      if (!canBeSerializedHelper(value[key])) return false;
    }
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // Parse.Object
  // ---------------------------------------------------------------------------------------------

  /** className -> constructor, so objects from the server get the registered subclass. */
  const classMap = Object.create(null);
  let objectCount = 0;
  let localIdCount = 0;
  /** First constructor argument telling the base constructor it runs under an extend() subclass. */
  const EXTENDING = Symbol("Parse.Object.extend");

  function localId() {
    localIdCount += 1;
    return "local" + Date.now().toString(36) + localIdCount.toString(36) +
      Math.floor(Math.random() * 0x7fffffff).toString(36);
  }

  class ParseObject {
    /**
     * `new Parse.Object("ClassName", attributes?, options?)` or
     * `new Parse.Object({className: "ClassName", ...attributes})`.
     */
    constructor(className, attributes, options) {
      this._objCount = objectCount++;
      if (className === EXTENDING) return;
      if (typeof this.initialize === "function") this.initialize.apply(this, arguments);
      let toSet = null;
      if (typeof className === "string") {
        this.className = className;
        if (attributes && typeof attributes === "object") toSet = attributes;
      } else if (className && typeof className === "object") {
        this.className = className.className;
        toSet = {};
        for (const attr of Object.keys(className)) {
          if (attr !== "className") toSet[attr] = className[attr];
        }
        if (attributes && typeof attributes === "object") options = attributes;
      }
      if (toSet) {
        try {
          this.set(toSet, options);
        } catch (_) {
          throw new Error("Can't create an invalid Parse Object");
        }
      }
    }

    // ---- state accessors (same private names as the SDK, which some code and the lead use)

    get attributes() {
      return Object.freeze(estimateAttributes(this));
    }
    get createdAt() {
      return stateOf(this).serverData.createdAt;
    }
    get updatedAt() {
      return stateOf(this).serverData.updatedAt;
    }

    _getId() {
      if (typeof this.id === "string") return this.id;
      if (typeof this._localId === "string") return this._localId;
      this._localId = localId();
      return this._localId;
    }
    _getStateIdentifier() {
      return this;
    }
    _getServerData() {
      return stateOf(this).serverData;
    }
    _clearServerData() {
      const state = stateOf(this);
      state.serverData = Object.create(null);
      state.objectCache = Object.create(null);
    }
    _getPendingOps() {
      return stateOf(this).pendingOps;
    }
    _clearPendingOps(keysToClear) {
      const pending = stateOf(this).pendingOps;
      const latest = pending[pending.length - 1];
      for (const key of keysToClear || Object.keys(latest)) delete latest[key];
    }
    _getDirtyObjectAttributes() {
      const attributes = estimateAttributes(this);
      const cache = stateOf(this).objectCache;
      const dirty = {};
      for (const attr of Object.keys(attributes)) {
        const value = attributes[attr];
        if (isCachedValue(value)) {
          try {
            if (cache[attr] !== JSON.stringify(encodeValue(value, false, true))) dirty[attr] = value;
          } catch (_) {
            dirty[attr] = value;
          }
        }
      }
      return dirty;
    }
    _toFullJSON(seen) {
      const json = this.toJSON(seen);
      json.__type = "Object";
      json.className = this.className;
      return json;
    }
    /** Full JSON with the current (estimated) values, for function results. */
    _toResultJSON(seen, attributes) {
      attributes = attributes || this.attributes;
      const json = {};
      for (const attr of Object.keys(attributes)) {
        const value = attributes[attr];
        if ((attr === "createdAt" || attr === "updatedAt") && value instanceof Date) {
          json[attr] = value.toJSON();
        } else if (value !== undefined) {
          json[attr] = encodeValue(value, false, false, seen, true);
        }
      }
      if (this.id) json.objectId = this.id;
      json.__type = "Object";
      json.className = this.className;
      return json;
    }
    /** The REST body of the next save: dirty fields as values or `__op`s. */
    _getSaveJSON() {
      const pending = stateOf(this).pendingOps;
      const dirtyObjects = this._getDirtyObjectAttributes();
      const json = {};
      for (const attr of Object.keys(dirtyObjects)) {
        let isDotNotation = false;
        for (const ops of pending) {
          for (const field of Object.keys(ops)) {
            if (field.includes(".") && field.split(".")[0] === attr) {
              isDotNotation = true;
              break;
            }
          }
        }
        if (!isDotNotation) json[attr] = new SetOp(dirtyObjects[attr]).toJSON();
      }
      for (const attr of Object.keys(pending[0])) json[attr] = pending[0][attr].toJSON();
      return json;
    }
    _getSaveParams() {
      const method = this.id ? "PUT" : "POST";
      const body = this._getSaveJSON();
      let path = "classes/" + this.className;
      if (this.id) path += "/" + this.id;
      else if (this.className === "_User") path = "users";
      return { method, body, path };
    }
    _finishFetch(serverData) {
      if (!this.id && serverData.objectId) this.id = serverData.objectId;
      const decoded = {};
      for (const attr of Object.keys(serverData)) {
        if (attr === "ACL") {
          const acl = serverData[attr];
          decoded[attr] = acl instanceof ParseACL ? acl : (acl ? new ParseACL(acl) : undefined);
        } else if (attr !== "objectId" && attr !== "className" && attr !== "__type") {
          decoded[attr] = decode(serverData[attr]);
          if (decoded[attr] instanceof ParseRelation) decoded[attr]._ensureParentAndKey(this, attr);
        }
      }
      if (decoded.createdAt && !(decoded.createdAt instanceof Date)) decoded.createdAt = parseDate(decoded.createdAt);
      if (decoded.updatedAt && !(decoded.updatedAt instanceof Date)) decoded.updatedAt = parseDate(decoded.updatedAt);
      if (!decoded.updatedAt && decoded.createdAt) decoded.updatedAt = decoded.createdAt;
      commitServerChanges(stateOf(this), decoded);
    }
    _setExisted(existed) {
      stateOf(this).existed = existed;
    }
    _migrateId(serverId) {
      if (serverId && !this.id) this.id = serverId;
      if (serverId) delete this._localId;
    }
    _handleSaveResponse(response, status) {
      const state = stateOf(this);
      const changes = {};
      const pending = state.pendingOps.shift();
      if (!state.pendingOps.length) state.pendingOps[0] = Object.create(null);
      for (const attr of Object.keys(pending)) {
        const op = pending[attr];
        if (op instanceof RelationOp) {
          changes[attr] = op.applyTo(undefined, this, attr);
        } else if (!(attr in response)) {
          // The server did not echo the result: estimate it from what we knew.
          try {
            changes[attr] = op.applyTo(attr.includes(".") ? undefined : state.serverData[attr]);
          } catch (_) {
            changes[attr] = op.applyTo(undefined);
          }
        }
      }
      for (const attr of Object.keys(response)) {
        if ((attr === "createdAt" || attr === "updatedAt") && typeof response[attr] === "string") {
          changes[attr] = parseDate(response[attr]);
        } else if (attr === "ACL") {
          const acl = response[attr];
          changes[attr] = acl instanceof ParseACL ? acl : (acl ? new ParseACL(acl) : undefined);
        } else if (attr !== "objectId") {
          const value = decode(response[attr]);
          if (value && Object.getPrototypeOf(value) === Object.prototype) {
            changes[attr] = { ...this.attributes[attr], ...value };
          } else {
            changes[attr] = value;
          }
          if (changes[attr] instanceof UnsetOp) changes[attr] = undefined;
          if (changes[attr] instanceof ParseRelation) changes[attr]._ensureParentAndKey(this, attr);
        }
      }
      if (changes.createdAt && !changes.updatedAt) changes.updatedAt = changes.createdAt;
      this._migrateId(response.objectId);
      if (status !== 201) state.existed = true;
      commitServerChanges(state, changes);
    }
    _handleSaveError() {
      const pending = stateOf(this).pendingOps;
      const first = pending.shift();
      if (!pending.length) pending[0] = Object.create(null);
      const next = pending[0];
      for (const attr of Object.keys(first)) {
        if (next[attr] && first[attr]) {
          const merged = next[attr].mergeWith(first[attr]);
          if (merged) next[attr] = merged;
        } else {
          next[attr] = first[attr];
        }
      }
    }
    _preserveFieldsOnFetch() {
      return null;
    }
    /** JSON of the arrays/objects changed in place, as the next save sends them. */
    _dirtyObjectSnapshot() {
      const dirty = this._getDirtyObjectAttributes();
      const snapshot = {};
      for (const attr of Object.keys(dirty)) {
        try {
          snapshot[attr] = JSON.stringify(encodeValue(dirty[attr], false, true));
        } catch (_) {
          // not serialisable: stays dirty
        }
      }
      return snapshot;
    }
    /** After a save: what was sent is what the server has (unless the answer says otherwise). */
    _commitDirtyObjectSnapshot(snapshot, response) {
      const cache = stateOf(this).objectCache;
      for (const attr of Object.keys(snapshot)) {
        if (!(attr in response)) cache[attr] = snapshot[attr];
      }
    }

    static _getClassMap() {
      return classMap;
    }
    static _getRequestOptions(options) {
      return requestOptions(options);
    }

    // ---- public API

    initialize() {}

    /** REST JSON of the object: fields, objectId, dates as ISO strings, pending ops as `__op`s. */
    toJSON(seen) {
      const entry = this.id ? this.className + ":" + this.id : this;
      seen = seen || [entry];
      const json = {};
      const attributes = estimateAttributes(this);
      for (const attr of Object.keys(attributes)) {
        const value = attributes[attr];
        if ((attr === "createdAt" || attr === "updatedAt") && value && typeof value.toJSON === "function") {
          json[attr] = value.toJSON();
        } else {
          json[attr] = encodeValue(value, false, false, seen);
        }
      }
      const pending = stateOf(this).pendingOps;
      for (const attr of Object.keys(pending[0])) {
        if (attr.indexOf(".") < 0) json[attr] = pending[0][attr].toJSON();
      }
      if (this.id) json.objectId = this.id;
      return json;
    }

    equals(other) {
      if (this === other) return true;
      return other instanceof ParseObject && this.className === other.className &&
        this.id === other.id && typeof this.id !== "undefined";
    }

    dirty(attr) {
      if (!this.id) return true;
      const pendingOps = stateOf(this).pendingOps;
      const dirtyObjects = this._getDirtyObjectAttributes();
      if (attr) {
        if (hasOwn(dirtyObjects, attr)) return true;
        return pendingOps.some((ops) => hasOwn(ops, attr));
      }
      if (Object.keys(pendingOps[0]).length !== 0) return true;
      return Object.keys(dirtyObjects).length !== 0;
    }

    dirtyKeys() {
      const keys = new Set();
      for (const ops of stateOf(this).pendingOps) for (const attr of Object.keys(ops)) keys.add(attr);
      for (const attr of Object.keys(this._getDirtyObjectAttributes())) keys.add(attr);
      return [...keys];
    }

    isDataAvailable() {
      return Object.keys(stateOf(this).serverData).length > 0;
    }

    toPointer() {
      if (!this.id) throw new Error("Cannot create a pointer to an unsaved ParseObject");
      return { __type: "Pointer", className: this.className, objectId: this.id };
    }

    get(attr) {
      return estimateAttributes(this)[attr];
    }

    relation(attr) {
      const value = this.get(attr);
      if (value) {
        if (!(value instanceof ParseRelation)) throw new Error("Called relation() on non-relation field " + attr);
        value._ensureParentAndKey(this, attr);
        return value;
      }
      return new ParseRelation(this, attr);
    }

    escape(attr) {
      let value = this.get(attr);
      if (value == null) return "";
      if (typeof value !== "string") {
        if (typeof value.toString !== "function") return "";
        value = value.toString();
      }
      const map = { "&": "&amp;", "<": "&lt;", ">": "&gt;", "/": "&#x2F;", "'": "&#x27;", '"': "&quot;" };
      return value.replace(/[&<>\/'"]/g, (c) => map[c]);
    }

    has(attr) {
      const attributes = estimateAttributes(this);
      return hasOwn(attributes, attr) && attributes[attr] != null;
    }

    /** `set(key, value, options?)` or `set({key: value}, options?)`; returns this; throws on invalid. */
    set(key, value, options) {
      let changes = {};
      const newOps = {};
      if (key && typeof key === "object") {
        changes = key;
        options = value;
      } else if (typeof key === "string") {
        changes[key] = value;
      } else {
        return this;
      }
      options = options || {};
      let readonly = [];
      if (typeof this.constructor.readOnlyAttributes === "function") {
        readonly = readonly.concat(this.constructor.readOnlyAttributes());
      }
      for (const k of Object.keys(changes)) {
        if (k === "createdAt" || k === "updatedAt") continue;
        if (isDangerousKey(k)) continue;
        if (readonly.indexOf(k) > -1) throw new Error("Cannot modify readonly attribute: " + k);
        const change = changes[k];
        if (options.unset) {
          newOps[k] = new UnsetOp();
        } else if (change instanceof Op) {
          newOps[k] = change;
        } else if (change && typeof change === "object" && typeof change.__op === "string") {
          newOps[k] = opFromJSON(change);
        } else if (k === "objectId" || k === "id") {
          if (typeof change === "string") this.id = change;
        } else if (k === "ACL" && change && typeof change === "object" && !(change instanceof ParseACL)) {
          newOps[k] = new SetOp(new ParseACL(change));
        } else if (change instanceof ParseRelation) {
          const relation = new ParseRelation(this, k);
          relation.targetClassName = change.targetClassName;
          newOps[k] = new SetOp(relation);
        } else {
          newOps[k] = new SetOp(change);
        }
      }
      const current = estimateAttributes(this);
      const newValues = {};
      for (const attr of Object.keys(newOps)) {
        if (newOps[attr] instanceof RelationOp) {
          newValues[attr] = newOps[attr].applyTo(current[attr], this, attr);
        } else if (!(newOps[attr] instanceof UnsetOp)) {
          newValues[attr] = newOps[attr].applyTo(current[attr]);
        }
      }
      if (!options.ignoreValidation) {
        const validationError = this.validate(newValues);
        if (validationError) throw validationError;
      }
      const pendingOps = stateOf(this).pendingOps;
      const last = pendingOps[pendingOps.length - 1];
      for (const attr of Object.keys(newOps)) {
        const next = newOps[attr].mergeWith(last[attr]);
        if (next) last[attr] = next;
        else delete last[attr];
      }
      return this;
    }

    unset(attr, options) {
      options = options || {};
      options.unset = true;
      return this.set(attr, null, options);
    }

    increment(attr, amount) {
      if (amount === undefined) amount = 1;
      if (typeof amount !== "number") throw new Error("Cannot increment by a non-numeric amount.");
      return this.set(attr, new IncrementOp(amount));
    }

    decrement(attr, amount) {
      if (amount === undefined) amount = 1;
      if (typeof amount !== "number") throw new Error("Cannot decrement by a non-numeric amount.");
      return this.set(attr, new IncrementOp(amount * -1));
    }

    add(attr, item) {
      return this.set(attr, new AddOp([item]));
    }
    addAll(attr, items) {
      return this.set(attr, new AddOp(items));
    }
    addUnique(attr, item) {
      return this.set(attr, new AddUniqueOp([item]));
    }
    addAllUnique(attr, items) {
      return this.set(attr, new AddUniqueOp(items));
    }
    remove(attr, item) {
      return this.set(attr, new RemoveOp([item]));
    }
    removeAll(attr, items) {
      return this.set(attr, new RemoveOp(items));
    }

    op(attr) {
      for (const ops of stateOf(this).pendingOps) {
        if (ops[attr]) return ops[attr];
      }
      return undefined;
    }

    clone() {
      const clone = new this.constructor(this.className);
      if (!clone.className) clone.className = this.className;
      let attributes = estimateAttributes(this);
      if (typeof this.constructor.readOnlyAttributes === "function") {
        const readonly = this.constructor.readOnlyAttributes() || [];
        const copy = {};
        for (const a of Object.keys(attributes)) {
          if (readonly.indexOf(a) < 0) copy[a] = attributes[a];
        }
        attributes = copy;
      }
      if (clone.set) clone.set(attributes);
      return clone;
    }

    newInstance() {
      const clone = new this.constructor(this.className);
      if (!clone.className) clone.className = this.className;
      clone.id = this.id;
      const from = stateOf(this);
      const to = stateOf(clone);
      Object.assign(to.serverData, from.serverData);
      Object.assign(to.objectCache, from.objectCache);
      to.pendingOps = from.pendingOps.map((ops) => Object.assign(Object.create(null), ops));
      to.existed = from.existed;
      return clone;
    }

    isNew() {
      return !this.id;
    }

    existed() {
      return !!this.id && stateOf(this).existed;
    }

    async exists(options) {
      if (!this.id) return false;
      try {
        await new sdk.ParseQuery(this.className).get(this.id, options);
        return true;
      } catch (e) {
        if (e && e.code === ParseError.OBJECT_NOT_FOUND) return false;
        throw e;
      }
    }

    isValid() {
      return !this.validate(this.attributes);
    }

    validate(attrs) {
      if (hasOwn(attrs, "ACL") && !(attrs.ACL instanceof ParseACL)) {
        return new ParseError(ParseError.OTHER_CAUSE, "ACL must be a Parse ACL.");
      }
      for (const key of Object.keys(attrs)) {
        if (!/^[A-Za-z_][0-9A-Za-z_.]*$/.test(key)) {
          return new ParseError(ParseError.INVALID_KEY_NAME, "Invalid key name: " + key);
        }
      }
      return false;
    }

    getACL() {
      const acl = this.get("ACL");
      return acl instanceof ParseACL ? acl : null;
    }

    setACL(acl, options) {
      return this.set("ACL", acl, options);
    }

    revert(...keys) {
      let keysToRevert;
      if (keys.length) {
        keysToRevert = [];
        for (const key of keys) {
          if (typeof key !== "string") {
            throw new Error("Parse.Object#revert expects either no, or a list of string, arguments.");
          }
          keysToRevert.push(key);
        }
      }
      this._clearPendingOps(keysToRevert);
    }

    clear() {
      const attributes = estimateAttributes(this);
      const erasable = {};
      let readonly = ["createdAt", "updatedAt"];
      if (typeof this.constructor.readOnlyAttributes === "function") {
        readonly = readonly.concat(this.constructor.readOnlyAttributes());
      }
      for (const attr of Object.keys(attributes)) {
        if (readonly.indexOf(attr) < 0) erasable[attr] = true;
      }
      return this.set(erasable, { unset: true });
    }

    /** Reloads the object (GET classes/X/id); resolves to this. */
    fetch(options) {
      const promise = (async () => {
        const opts = requestOptions(options);
        if (!this.id) throw new ParseError(ParseError.MISSING_OBJECT_ID, "Object does not have an ID");
        const params = opts.include ? { include: opts.include.join() } : undefined;
        const response = await request("GET", "classes/" + this.className + "/" + this.id, params, opts);
        const preserved = this._preserveFieldsOnFetch();
        this._clearPendingOps();
        this._clearServerData();
        if (preserved) this._finishFetch(preserved);
        this._finishFetch(response);
        this._setExisted(true);
        return this;
      })();
      return withCallbacks(promise, options, this);
    }

    fetchWithInclude(keys, options) {
      options = options || {};
      options.include = keys;
      return this.fetch(options);
    }

    fetchIfNeeded(options) {
      if (this.isDataAvailable()) return withCallbacks(Promise.resolve(this), options, this);
      return this.fetch(options);
    }

    /**
     * `save()`, `save(attrs, options)`, `save(key, value, options)`: saves unsaved children, then
     * sends the dirty fields; applies the answer (fields a beforeSave changed). Resolves to this.
     */
    save(arg1, arg2, arg3) {
      let attrs;
      let options;
      if (typeof arg1 === "object" || typeof arg1 === "undefined") {
        attrs = arg1;
        if (typeof arg2 === "object") options = arg2;
      } else {
        attrs = {};
        attrs[arg1] = arg2;
        options = arg3;
      }
      options = options || {};
      const promise = (async () => {
        if (attrs) this.set(attrs, options);
        const opts = requestOptions(options);
        const unsaved = options.cascadeSave !== false ? unsavedChildren(this) : null;
        if (unsaved && unsaved.length) await saveAll(unsaved, opts);
        return this._saveSelf(opts);
      })();
      return withCallbacks(promise, options, this);
    }

    _saveSelf(opts) {
      this._getId();
      stateOf(this).pendingOps.push(Object.create(null));
      return enqueue(this, async () => {
        const params = this._getSaveParams();
        const snapshot = this._dirtyObjectSnapshot();
        let response;
        try {
          response = (await request(params.method, params.path, params.body, opts)) || {};
        } catch (e) {
          this._handleSaveError();
          throw e;
        }
        this._handleSaveResponse(response, params.method === "POST" ? 201 : 200);
        this._commitDirtyObjectSnapshot(snapshot, response);
      }).then(() => this);
    }

    saveEventually(options) {
      return this.save(null, options);
    }

    /** Deletes the object (DELETE classes/X/id); resolves to this. */
    destroy(options) {
      const promise = (async () => {
        const opts = requestOptions(options);
        if (!this.id) return undefined;
        await request("DELETE", "classes/" + this.className + "/" + this.id, undefined, opts);
        return this;
      })();
      return withCallbacks(promise, options, this);
    }

    destroyEventually(options) {
      return this.destroy(options);
    }

    // ---- static API

    static fetchAll(list, options) {
      return withCallbacks(fetchAll(list, true, requestOptions(options)), options);
    }
    static fetchAllWithInclude(list, keys, options) {
      options = options || {};
      options.include = keys;
      return ParseObject.fetchAll(list, options);
    }
    static fetchAllIfNeeded(list, options) {
      return withCallbacks(fetchAll(list, false, requestOptions(options)), options);
    }
    static fetchAllIfNeededWithInclude(list, keys, options) {
      options = options || {};
      options.include = keys;
      return ParseObject.fetchAllIfNeeded(list, options);
    }
    static handleIncludeOptions(options) {
      return handleIncludeOptions(options);
    }

    static saveAll(list, options) {
      let promise;
      try {
        promise = saveAll(list, requestOptions(options));
      } catch (e) {
        promise = Promise.reject(e);
      }
      return withCallbacks(promise, options);
    }

    static destroyAll(list, options) {
      return withCallbacks(destroyAll(list, requestOptions(options)), options);
    }

    static createWithoutData(id) {
      const obj = new this();
      obj.id = id;
      return obj;
    }

    /** `{className, objectId?, ...fields}` (REST JSON) -> an instance of the registered class. */
    static fromJSON(json, override, dirty) {
      if (!json || !json.className) throw new Error("Cannot create an object without a className");
      const Constructor = classMap[json.className];
      const o = Constructor ? new Constructor(json.className) : new ParseObject(json.className);
      if (o.className !== json.className) o.className = json.className;
      const otherAttributes = {};
      for (const attr of Object.keys(json)) {
        if (attr !== "className" && attr !== "__type") {
          otherAttributes[attr] = json[attr];
          if (dirty) o.set(attr, json[attr]);
        }
      }
      if (override) {
        if (otherAttributes.objectId) o.id = otherAttributes.objectId;
        const preserved = o._preserveFieldsOnFetch();
        o._clearServerData();
        if (preserved) o._finishFetch(preserved);
      }
      o._finishFetch(otherAttributes);
      if (json.objectId) o._setExisted(true);
      return o;
    }

    static registerSubclass(className, constructor) {
      if (typeof className !== "string") throw new TypeError("The first argument must be a valid class name.");
      if (typeof constructor === "undefined") throw new TypeError("You must supply a subclass constructor.");
      if (typeof constructor !== "function") {
        throw new TypeError("You must register the subclass constructor. " +
          "Did you attempt to register an instance of the subclass?");
      }
      classMap[className] = constructor;
      if (!constructor.className) constructor.className = className;
    }

    static unregisterSubclass(className) {
      if (typeof className !== "string") throw new TypeError("The first argument must be a valid class name.");
      delete classMap[className];
    }

    /**
     * `Parse.Object.extend("Name", protoProps?, classProps?)` -> a subclass, registered for the
     * class; the same class again for the same name ("User"/"_User" give Parse.User).
     */
    static extend(className, protoProps, classProps) {
      if (typeof className !== "string") {
        if (className && typeof className.className === "string") {
          return ParseObject.extend.call(this, className.className, className, protoProps);
        }
        if (this !== ParseObject && typeof this.className === "string") {
          return ParseObject.extend.call(this, this.className, className, protoProps);
        }
        throw new Error("Parse.Object.extend's first argument should be the className.");
      }
      const adjustedClassName = className === "User" ? "_User" : className;
      let Parent = ParseObject;
      if (typeof this === "function" && this.prototype instanceof ParseObject) Parent = this;
      let Subclass = classMap[adjustedClassName];
      if (!Subclass) {
        Subclass = class extends Parent {
          constructor(attributes, options) {
            super(EXTENDING);
            if (attributes === EXTENDING) return;
            this.className = adjustedClassName;
            if (typeof this.initialize === "function") this.initialize.apply(this, arguments);
            if (this._initializers) {
              for (const initializer of this._initializers) initializer.apply(this, arguments);
            }
            if (attributes && typeof attributes === "object") {
              try {
                this.set(attributes, options);
              } catch (_) {
                throw new Error("Can't create an invalid Parse Object");
              }
            }
          }
        };
        Subclass.className = adjustedClassName;
        Subclass.__super__ = Parent.prototype;
      }
      if (protoProps) {
        for (const prop of Object.keys(protoProps)) {
          if (prop === "initialize") {
            Object.defineProperty(Subclass.prototype, "_initializers", {
              value: [...(Subclass.prototype._initializers || []), protoProps[prop]],
              enumerable: false,
              writable: true,
              configurable: true,
            });
          } else if (prop !== "className") {
            Object.defineProperty(Subclass.prototype, prop, {
              value: protoProps[prop],
              enumerable: false,
              writable: true,
              configurable: true,
            });
          }
        }
      }
      if (classProps) {
        for (const prop of Object.keys(classProps)) {
          if (prop !== "className") {
            Object.defineProperty(Subclass, prop, {
              value: classProps[prop],
              enumerable: false,
              writable: true,
              configurable: true,
            });
          }
        }
      }
      classMap[adjustedClassName] = Subclass;
      return Subclass;
    }

    /** Objects are always single-instance-free on a server; kept for code that calls these. */
    static enableSingleInstance() {}
    static disableSingleInstance() {}
    static _clearAllState() {}
  }

  // ---- batch helpers

  async function fetchAll(list, forceFetch, opts) {
    if (!Array.isArray(list) || list.length < 1) return [];
    const objects = [];
    const ids = [];
    let className = null;
    const results = [];
    for (const el of list) {
      if (!className) className = el.className;
      if (className !== el.className) {
        throw new ParseError(ParseError.INVALID_CLASS_NAME, "All objects should be of the same class");
      }
      if (!el.id) throw new ParseError(ParseError.MISSING_OBJECT_ID, "All objects must have an ID");
      if (forceFetch || !el.isDataAvailable()) {
        ids.push(el.id);
        objects.push(el);
      }
      results.push(el);
    }
    if (ids.length === 0) return results;
    const query = new sdk.ParseQuery(className);
    query.containedIn("objectId", ids);
    if (opts.include) query.include(opts.include);
    query._limit = ids.length;
    const found = await query.find({ ...opts, json: true });
    const byId = new Map();
    for (const data of found) byId.set(data.objectId, data);
    for (const obj of objects) {
      if (!byId.has(obj.id) && forceFetch) {
        throw new ParseError(ParseError.OBJECT_NOT_FOUND, "All objects must exist on the server.");
      }
    }
    for (const obj of objects) {
      const data = byId.get(obj.id);
      if (!data) continue;
      const preserved = obj._preserveFieldsOnFetch();
      obj._clearPendingOps();
      obj._clearServerData();
      if (preserved) obj._finishFetch(preserved);
      obj._finishFetch(data);
      obj._setExisted(true);
    }
    return results;
  }

  /** Saves objects (and their unsaved children) through `batch`, BATCH_SIZE per call. */
  async function saveAll(list, opts) {
    if (!Array.isArray(list)) list = [list];
    if (list.length < 1) return list;
    opts = opts || {};
    const batchSize = opts.batchSize || BATCH_SIZE;
    let unsaved = list.concat();
    for (const item of list) {
      if (item instanceof ParseObject) unsaved = unsaved.concat(unsavedChildren(item, true));
    }
    unsaved = unique(unsaved);
    let pending = [];
    const files = [];
    for (const el of unsaved) {
      if (el instanceof ParseFile) files.push(el.save());
      else if (el instanceof ParseObject) pending.push(el);
    }
    await Promise.all(files);
    let objectError = null;
    while (pending.length > 0) {
      const batch = [];
      const nextPending = [];
      for (const el of pending) {
        if (batch.length < batchSize && canBeSerialized(el)) batch.push(el);
        else nextPending.push(el);
      }
      pending = nextPending;
      if (batch.length < 1) {
        throw new ParseError(ParseError.OTHER_CAUSE, "Tried to save a batch with a cycle.");
      }
      // Each object waits for its own earlier saves; the batch goes once all are ready.
      const returned = deferred();
      const ready = [];
      const tasks = batch.map((obj, index) => {
        const isReady = deferred();
        ready.push(isReady.promise);
        obj._getId();
        stateOf(obj).pendingOps.push(Object.create(null));
        return enqueue(obj, () => {
          isReady.resolve();
          return returned.promise.then(
            ({ responses, methods, snapshots }) => {
              const answer = responses[index];
              if (answer && hasOwn(answer, "success")) {
                const response = answer.success || {};
                obj._handleSaveResponse(response, methods[index] === "POST" ? 201 : 200);
                obj._commitDirtyObjectSnapshot(snapshots[index], response);
              } else {
                if (!objectError) {
                  const err = (answer && answer.error) || {};
                  objectError = new ParseError(
                    typeof err.code === "number" ? err.code : ParseError.INTERNAL_SERVER_ERROR,
                    err.error !== undefined ? err.error : "Batch sub-request failed",
                  );
                  pending = [];
                }
                obj._handleSaveError();
              }
            },
            (error) => {
              obj._handleSaveError();
              if (!objectError) {
                objectError = error instanceof ParseError
                  ? error
                  : new ParseError(ParseError.INCORRECT_TYPE, (error && error.message) || String(error));
                pending = [];
              }
            },
          );
        });
      });
      Promise.all(ready)
        .then(async () => {
          const methods = [];
          const snapshots = [];
          const requests = batch.map((obj) => {
            const params = obj._getSaveParams();
            methods.push(params.method);
            snapshots.push(obj._dirtyObjectSnapshot());
            return { method: params.method, path: batchPath(params.path), body: params.body };
          });
          const responses = await request("POST", "batch", { requests }, opts);
          if (!Array.isArray(responses)) {
            throw new ParseError(ParseError.INTERNAL_SERVER_ERROR, "Unexpected answer to a batch request");
          }
          return { responses, methods, snapshots };
        })
        .then(returned.resolve, returned.reject);
      await Promise.all(tasks);
    }
    if (objectError) throw objectError;
    return list;
  }

  async function destroyAll(list, opts) {
    if (!Array.isArray(list)) list = [list];
    if (list.length < 1) return [];
    const batchSize = opts.batchSize || BATCH_SIZE;
    const batches = [[]];
    for (const obj of list) {
      if (!obj || !obj.id) continue;
      batches[batches.length - 1].push(obj);
      if (batches[batches.length - 1].length >= batchSize) batches.push([]);
    }
    if (batches[batches.length - 1].length === 0) batches.pop();
    const errors = [];
    for (const batch of batches) {
      const requests = batch.map((obj) => ({
        method: "DELETE",
        path: batchPath("classes/" + obj.className + "/" + obj.id),
        body: {},
      }));
      const results = await request("POST", "batch", { requests }, opts);
      for (let i = 0; i < results.length; i++) {
        if (results[i] && hasOwn(results[i], "error")) {
          const err = new ParseError(results[i].error.code, results[i].error.error);
          err.object = batch[i];
          errors.push(err);
        }
      }
    }
    if (errors.length) {
      const aggregate = new ParseError(ParseError.AGGREGATE_ERROR, "Error deleting some objects");
      aggregate.errors = errors;
      throw aggregate;
    }
    return list;
  }

  // ---------------------------------------------------------------------------------------------
  // Trigger objects (optional helpers for the dispatcher)
  // ---------------------------------------------------------------------------------------------

  /**
   * `request.object` of a trigger as Parse Server builds it: `original` (REST JSON of the stored
   * object, null/undefined when it is being created) is its server data and `changes` (the REST
   * body of the write: values and `__op`s) its pending changes, so get(), dirty(key), dirtyKeys()
   * and isNew() answer as in Parse Server's beforeSave.
   */
  function objectForTrigger(className, original, changes) {
    const object = ParseObject.fromJSON(Object.assign({}, original || {}, { className }));
    const pending = stateOf(object).pendingOps[0];
    for (const key of Object.keys(changes || {})) {
      if (key === "objectId" || key === "createdAt" || key === "updatedAt" || key === "className" ||
          key === "__type" || isDangerousKey(key)) {
        continue;
      }
      const raw = changes[key];
      let op;
      if (raw && typeof raw === "object" && typeof raw.__op === "string") op = opFromJSON(raw);
      else if (key === "ACL" && raw && typeof raw === "object") op = new SetOp(new ParseACL(raw));
      else op = new SetOp(decode(raw));
      if (op) pending[key] = op;
    }
    return object;
  }

  /**
   * What a beforeSave answers, as Parse Server does: the write body after the handler ran
   * (`_getSaveJSON()`: the original changes plus what the handler set, ops kept as `__op`s),
   * with the objectId when the object has one.
   */
  function triggerChanges(object) {
    const json = object._getSaveJSON();
    if (object.id) json.objectId = object.id;
    return json;
  }

  // ---------------------------------------------------------------------------------------------
  // Exports
  // ---------------------------------------------------------------------------------------------

  Object.assign(Parse, {
    Object: ParseObject,
    ACL: ParseACL,
    GeoPoint: ParseGeoPoint,
    Polygon: ParsePolygon,
    File: ParseFile,
    Relation: ParseRelation,
    Op: {
      Set: SetOp,
      Unset: UnsetOp,
      Increment: IncrementOp,
      Add: AddOp,
      Remove: RemoveOp,
      AddUnique: AddUniqueOp,
      Relation: RelationOp,
    },
    /** The SDK's private encoder/decoder, used by some older cloud code. */
    _encode(value, _, disallowObjects) {
      return encodeValue(value, !!disallowObjects, false, []);
    },
    _decode(_, value) {
      return decode(value);
    },
  });

  Object.assign(sdk, {
    ParseObject,
    ParseACL,
    ParseGeoPoint,
    ParsePolygon,
    ParseFile,
    ParseRelation,
    Op,
    SetOp,
    UnsetOp,
    IncrementOp,
    AddOp,
    AddUniqueOp,
    RemoveOp,
    RelationOp,
    opFromJSON,
    encodeValue,
    decode,
    request,
    requestOptions,
    withCallbacks,
    currentAuthObject,
    authFor,
    objectForTrigger,
    triggerChanges,
    setGlobalMasterKey(on) {
      globalMasterKey = !!on;
    },
  });

  /**
   * Wire encoding for the rest of the runtime. `encode(value)`: objects as pointers (params,
   * queries). `encode(value, true)`: function results, objects in full as Parse Server sends them.
   */
  internals.encode = (value, full) => encodeValue(value, false, !full, [], !!full);
  internals.decode = decode;
})(globalThis);
