// Parse.Op: pending changes, sent as REST `__op`s.
// Part of cloud code's SDK layer (split from one file along its seams); each part takes what
// it needs from the shared `sdk` namespace and adds its exports to it explicitly at the end.
"use strict";

((globalThis) => {
  const internals = globalThis.__cloudrtInternals;
  const sdk = internals.sdk;
  const Parse = globalThis.Parse;
  const { arrayContainsObject, decode, encodeValue, unique } = sdk;

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
          if (v instanceof sdk.ParseObject) {
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
          if (item instanceof sdk.ParseObject && item.id) {
            for (let j = 0; j < removed.length; j++) {
              if (removed[j] instanceof sdk.ParseObject && item.id === removed[j].id) {
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
          if (item instanceof sdk.ParseObject) {
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
        const relation = new sdk.ParseRelation(parent, key);
        relation.targetClassName = this._targetClassName;
        return relation;
      }
      if (value instanceof sdk.ParseRelation) {
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
      if (previous instanceof SetOp && previous._value instanceof sdk.ParseRelation) return this;
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

  Parse.Op = {
    Set: SetOp,
    Unset: UnsetOp,
    Increment: IncrementOp,
    Add: AddOp,
    Remove: RemoveOp,
    AddUnique: AddUniqueOp,
    Relation: RelationOp,
  };

  Object.assign(sdk, {
    AddOp,
    AddUniqueOp,
    IncrementOp,
    Op,
    RelationOp,
    RemoveOp,
    SetOp,
    UnsetOp,
    opFromJSON,
  });
})(globalThis);
