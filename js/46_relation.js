// Parse.Relation.
// Part of cloud code's SDK layer (split from one file along its seams); each part takes what
// it needs from the shared `sdk` namespace and adds its exports to it explicitly at the end.
"use strict";

((globalThis) => {
  const internals = globalThis.__cloudrtInternals;
  const sdk = internals.sdk;
  const { RelationOp } = sdk;

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

  globalThis.Parse.Relation = ParseRelation;

  Object.assign(sdk, {
    ParseRelation,
  });
})(globalThis);
