// Parse.Object: behaves like the official `parse` npm SDK (v5+) in its server mode (every
// instance holds its own state, no current user), plus Parse.com's `{success, error}` callback
// options so old cloud code runs unchanged.
// Part of cloud code's SDK layer (split from one file along its seams); each part takes what
// it needs from the shared `sdk` namespace and adds its exports to it explicitly at the end.
"use strict";

((globalThis) => {
  const internals = globalThis.__cloudrtInternals;
  const sdk = internals.sdk;
  const Parse = globalThis.Parse;
  const ParseError = globalThis.Parse.Error;
  const {
    AddOp, AddUniqueOp, IncrementOp, Op, ParseACL, ParseRelation, RelationOp, RemoveOp, SetOp,
    UnsetOp, cacheEntry, changedSince, commitServerChanges, decode, encodeValue, enqueue,
    estimateAttributes, handleIncludeOptions, hasOwn, isCachedValue, isDangerousKey, opFromJSON,
    parseDate, request, requestOptions, stateOf, unsavedChildren, withCallbacks,
  } = sdk;

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
        if (isCachedValue(value) && changedSince(cache[attr], value)) dirty[attr] = value;
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
      // Index loops here and in fromJSON: every query result passes through them, and QuickJS's
      // for-of allocates an iterator result per step.
      const attrs = Object.keys(serverData);
      for (let i = 0; i < attrs.length; i++) {
        const attr = attrs[i];
        const value = serverData[attr];
        if (attr === "ACL") {
          decoded[attr] = value instanceof ParseACL ? value : (value ? new ParseACL(value) : undefined);
        } else if (attr !== "objectId" && attr !== "className" && attr !== "__type") {
          const field = value !== null && typeof value === "object" ? decode(value) : value;
          decoded[attr] = field;
          if (field instanceof ParseRelation) field._ensureParentAndKey(this, attr);
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
          snapshot[attr] = cacheEntry(dirty[attr]);
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
        if (unsaved && unsaved.length) await sdk.saveAll(unsaved, opts);
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
      return withCallbacks(sdk.fetchAll(list, true, requestOptions(options)), options);
    }
    static fetchAllWithInclude(list, keys, options) {
      options = options || {};
      options.include = keys;
      return ParseObject.fetchAll(list, options);
    }
    static fetchAllIfNeeded(list, options) {
      return withCallbacks(sdk.fetchAll(list, false, requestOptions(options)), options);
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
        promise = sdk.saveAll(list, requestOptions(options));
      } catch (e) {
        promise = Promise.reject(e);
      }
      return withCallbacks(promise, options);
    }

    static destroyAll(list, options) {
      return withCallbacks(sdk.destroyAll(list, requestOptions(options)), options);
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
      if (dirty) {
        const attrs = Object.keys(json);
        for (let i = 0; i < attrs.length; i++) {
          const attr = attrs[i];
          if (attr !== "className" && attr !== "__type") o.set(attr, json[attr]);
        }
      }
      if (override) {
        if (json.objectId) o.id = json.objectId;
        const preserved = o._preserveFieldsOnFetch();
        o._clearServerData();
        if (preserved) o._finishFetch(preserved);
      }
      // _finishFetch skips className and __type itself: no copy of the fields without them.
      o._finishFetch(json);
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

  Parse.Object = ParseObject;

  Object.assign(sdk, {
    ParseObject,
  });
})(globalThis);
