// Parse.Schema: reads and changes class schemas through the schema API (schemas/<className>,
// purge/<className>) with the master key, as the official SDK's ParseSchema does: fields are
// collected by addString/addPointer/… and deleteField, then sent by save (create) or update.
"use strict";

((globalThis) => {
  const internals = globalThis.__cloudrtInternals;
  const Parse = globalThis.Parse;
  const { encodeValue, request } = internals.sdk;

  const FIELD_TYPES = [
    "String", "Number", "Boolean", "Bytes", "Date", "File", "GeoPoint", "Polygon", "Array",
    "Object", "Pointer", "Relation",
  ];

  /** Schema calls always carry the master key, as the SDK's schema controller sends them. */
  const MASTER = { useMasterKey: true };

  class ParseSchema {
    constructor(className) {
      if (typeof className === "string") {
        this.className = className === "User" ? "_User" : className;
      }
      this._fields = {};
      this._indexes = {};
      this._clp = undefined;
    }

    /** Every class's schema; rejects when there is none, as the SDK does. */
    static all() {
      return request("GET", "schemas", undefined, MASTER).then((response) => {
        if (!response.results || response.results.length === 0) throw new Error("Schema not found.");
        return response.results;
      });
    }

    assertClassName() {
      if (!this.className) throw new Error("You must set a Class Name before making any request.");
    }

    get() {
      this.assertClassName();
      return request("GET", "schemas/" + this.className, undefined, MASTER).then((response) => {
        if (!response) throw new Error("Schema not found.");
        return response;
      });
    }

    /** Creates the class with the fields, indexes and CLP collected so far. */
    save() {
      this.assertClassName();
      return request("POST", "schemas/" + this.className, this.body(), MASTER).then((response) => {
        this.clear();
        return response;
      });
    }

    /** Adds and deletes the fields collected so far, and sets the CLP when one was given. */
    update() {
      this.assertClassName();
      return request("PUT", "schemas/" + this.className, this.body(), MASTER).then((response) => {
        this.clear();
        return response;
      });
    }

    /** Deletes the class's schema; the class must be empty (purge it first). */
    delete() {
      this.assertClassName();
      return request("DELETE", "schemas/" + this.className, undefined, MASTER);
    }

    /** Deletes every object of the class and keeps the schema. */
    purge() {
      this.assertClassName();
      return request("DELETE", "purge/" + this.className, undefined, MASTER);
    }

    body() {
      const body = { className: this.className, fields: this._fields, indexes: this._indexes };
      if (this._clp !== undefined) body.classLevelPermissions = this._clp;
      return body;
    }

    clear() {
      this._fields = {};
      this._indexes = {};
    }

    setCLP(clp) {
      this._clp = clp && typeof clp.toJSON === "function" ? clp.toJSON() : clp;
      return this;
    }

    addField(name, type, options) {
      type = type || "String";
      options = options || {};
      if (!name) throw new Error("field name may not be null.");
      if (FIELD_TYPES.indexOf(type) === -1) throw new Error(type + " is not a valid type.");
      if (type === "Pointer") return this.addPointer(name, options.targetClass, options);
      if (type === "Relation") return this.addRelation(name, options.targetClass);
      const field = { type };
      if (typeof options.required === "boolean") field.required = options.required;
      if (options.defaultValue !== undefined) field.defaultValue = encodeValue(options.defaultValue);
      this._fields[name] = field;
      return this;
    }

    addIndex(name, index) {
      if (!name) throw new Error("index name may not be null.");
      if (!index) throw new Error("index may not be null.");
      this._indexes[name] = index;
      return this;
    }

    addString(name, options) { return this.addField(name, "String", options); }
    addNumber(name, options) { return this.addField(name, "Number", options); }
    addBoolean(name, options) { return this.addField(name, "Boolean", options); }
    addBytes(name, options) { return this.addField(name, "Bytes", options); }
    addDate(name, options) { return this.addField(name, "Date", options); }
    addFile(name, options) { return this.addField(name, "File", options); }
    addGeoPoint(name, options) { return this.addField(name, "GeoPoint", options); }
    addPolygon(name, options) { return this.addField(name, "Polygon", options); }
    addArray(name, options) { return this.addField(name, "Array", options); }
    addObject(name, options) { return this.addField(name, "Object", options); }

    addPointer(name, targetClass, options) {
      options = options || {};
      if (!name) throw new Error("field name may not be null.");
      if (!targetClass) throw new Error("You need to set the targetClass of the Pointer.");
      const field = { type: "Pointer", targetClass };
      if (typeof options.required === "boolean") field.required = options.required;
      if (options.defaultValue !== undefined) field.defaultValue = encodeValue(options.defaultValue, false, true);
      this._fields[name] = field;
      return this;
    }

    addRelation(name, targetClass) {
      if (!name) throw new Error("field name may not be null.");
      if (!targetClass) throw new Error("You need to set the targetClass of the Relation.");
      this._fields[name] = { type: "Relation", targetClass };
      return this;
    }

    deleteField(name) {
      this._fields[name] = { __op: "Delete" };
      return this;
    }

    deleteIndex(name) {
      this._indexes[name] = { __op: "Delete" };
      return this;
    }
  }

  Parse.Schema = ParseSchema;
})(globalThis);
