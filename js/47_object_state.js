// Per-object state: server data, pending op sets, a cache of the estimated attributes.
// Part of cloud code's SDK layer (split from one file along its seams); each part takes what
// it needs from the shared `sdk` namespace and adds its exports to it explicitly at the end.
"use strict";

((globalThis) => {
  const internals = globalThis.__cloudrtInternals;
  const sdk = internals.sdk;
  const {
    Op, ParseACL, ParseFile, ParseGeoPoint, ParsePolygon, ParseRelation, RelationOp, encodeValue,
    isDangerousKey, noop,
  } = sdk;

  // An object's state is an own property of the object under a symbol of ours: not enumerable,
  // so no Object.keys, spread, Object.assign or JSON sees or copies it. QuickJS's WeakMap costs
  // about 5 µs per new entry, which made turning a query's ten results into objects cost more
  // than running the query. An object that cannot take a property (frozen by its owner) keeps
  // its state in the WeakMap instead.
  const STATE = Symbol("cloudrt.objectState");
  const UNEXTENSIBLE_STATES = new WeakMap();
  const hasOwn = Object.prototype.hasOwnProperty;

  function newState() {
    return {
      serverData: Object.create(null),
      pendingOps: [Object.create(null)],
      objectCache: Object.create(null),
      // The tail of the object's save/fetch queue; null until something is queued.
      queue: null,
      existed: false,
    };
  }

  function stateOf(object) {
    if (hasOwn.call(object, STATE)) return object[STATE];
    if (!Object.isExtensible(object)) {
      let state = UNEXTENSIBLE_STATES.get(object);
      if (!state) {
        state = newState();
        UNEXTENSIBLE_STATES.set(object, state);
      }
      return state;
    }
    const state = newState();
    Object.defineProperty(object, STATE, { value: state });
    return state;
  }

  function enqueue(object, task) {
    const state = stateOf(object);
    const run = (state.queue || Promise.resolve()).then(() => task());
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
    return value && typeof value === "object" && !(value instanceof sdk.ParseObject) &&
      !(value instanceof ParseFile) && !(value instanceof ParseRelation);
  }

  /**
   * What the object cache keeps of a value the server has, to tell later whether it was changed
   * in place: its JSON (as the SDK keeps it), or for a Date its time. A Date's JSON differs
   * exactly when its time does, and `JSON.stringify` of one costs about 5 µs in QuickJS: two of
   * them (createdAt, updatedAt) were most of the cost of turning a query result into an object.
   * Throws when the value cannot be encoded.
   */
  function cacheEntry(value) {
    if (value instanceof Date) return value.getTime();
    return JSON.stringify(encodeValue(value, false, true));
  }

  /** True when `value` is no longer what its cache entry says (an invalid Date always is). */
  function changedSince(entry, value) {
    if (typeof entry === "number") return !(value instanceof Date) || value.getTime() !== entry;
    try {
      return entry !== cacheEntry(value);
    } catch (_) {
      return true;
    }
  }

  function commitServerChanges(state, changes) {
    // Index loops, not for-of: QuickJS allocates an iterator result per step.
    const attrs = Object.keys(changes);
    for (let i = 0; i < attrs.length; i++) {
      const attr = attrs[i];
      if (isDangerousKey(attr)) continue;
      const value = changes[attr];
      if (attr.includes(".")) nestedSet(state.serverData, attr, value);
      else if (value === undefined) delete state.serverData[attr];
      else state.serverData[attr] = value;
      if (isCachedValue(value)) {
        try {
          state.objectCache[attr] = cacheEntry(value);
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
    if (value instanceof sdk.ParseObject) {
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
    if (!(object instanceof sdk.ParseObject)) return true;
    const attributes = object.attributes;
    for (const attr of Object.keys(attributes)) {
      if (!canBeSerializedHelper(attributes[attr])) return false;
    }
    return true;
  }

  function canBeSerializedHelper(value) {
    if (value === null || typeof value !== "object") return true;
    if (value instanceof ParseRelation) return true;
    if (value instanceof sdk.ParseObject) return !!value.id;
    if (value instanceof ParseFile) return !!value.url();
    if (Array.isArray(value)) return value.every(canBeSerializedHelper);
    if (value instanceof Date || value instanceof ParseACL || value instanceof ParseGeoPoint) return true;
    for (const key of Object.keys(value)) {
      if (!canBeSerializedHelper(value[key])) return false;
    }
    return true;
  }

  Object.assign(sdk, {
    cacheEntry,
    canBeSerialized,
    changedSince,
    commitServerChanges,
    enqueue,
    estimateAttributes,
    isCachedValue,
    stateOf,
    unsavedChildren,
  });
})(globalThis);
