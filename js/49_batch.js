// Batch saves, fetches and deletes of many objects.
// Part of cloud code's SDK layer (split from one file along its seams); each part takes what
// it needs from the shared `sdk` namespace and adds its exports to it explicitly at the end.
"use strict";

((globalThis) => {
  const internals = globalThis.__cloudrtInternals;
  const sdk = internals.sdk;
  const ParseError = globalThis.Parse.Error;
  const {
    BATCH_SIZE, ParseFile, ParseObject, batchPath, canBeSerialized, deferred, enqueue, hasOwn,
    request, stateOf, unique, unsavedChildren,
  } = sdk;

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

  Object.assign(sdk, {
    destroyAll,
    fetchAll,
    saveAll,
  });
})(globalThis);
