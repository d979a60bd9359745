// Trigger objects: request.object of a beforeSave as Parse Server builds it.
// Part of cloud code's SDK layer (split from one file along its seams); each part takes what
// it needs from the shared `sdk` namespace and adds its exports to it explicitly at the end.
"use strict";

((globalThis) => {
  const internals = globalThis.__cloudrtInternals;
  const sdk = internals.sdk;
  const Parse = globalThis.Parse;
  const {
    ParseACL, ParseObject, SetOp, decode, isDangerousKey, opFromJSON, request, stateOf,
  } = sdk;

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

  Object.assign(sdk, {
    objectForTrigger,
    triggerChanges,
  });
})(globalThis);
