// Encoding and decoding the Parse wire format.
// Part of cloud code's SDK layer (split from one file along its seams); each part takes what
// it needs from the shared `sdk` namespace and adds its exports to it explicitly at the end.
"use strict";

((globalThis) => {
  const internals = globalThis.__cloudrtInternals;
  const sdk = internals.sdk;
  const Parse = globalThis.Parse;
  const ParseError = globalThis.Parse.Error;
  const { ParseACL, ParseFile, ParseGeoPoint, ParsePolygon, isDangerousKey } = sdk;

  /**
   * The SDK's encode. Objects become pointers when `forcePointers`, when already `seen`, when dirty
   * or when never fetched; otherwise full `{"__type":"Object"}` JSON. `lenient` is the mode used
   * for function results: every object with data is sent in full (with its current values), and
   * nothing throws (unsaved objects/files, invalid dates).
   */
  function encodeValue(value, disallowObjects, forcePointers, seen, lenient) {
    if (value instanceof sdk.ParseObject) {
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
    if (value instanceof sdk.Op || value instanceof ParseACL || value instanceof ParseGeoPoint ||
        value instanceof ParsePolygon || value instanceof sdk.ParseRelation) {
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
    if (typeof value.__op === "string") return sdk.opFromJSON(value);
    if ((value.__type === "Pointer" || value.__type === "Object") && value.className) {
      return sdk.ParseObject.fromJSON(value);
    }
    if (value.__type === "Relation") {
      const relation = new sdk.ParseRelation(null, null);
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
      if (item instanceof sdk.ParseObject && item.className === object.className &&
          item._getId() === object._getId()) {
        return true;
      }
    }
    return false;
  }

  function unique(array) {
    const uniques = [];
    for (const value of array) {
      if (value instanceof sdk.ParseObject) {
        if (!arrayContainsObject(uniques, value)) uniques.push(value);
      } else if (uniques.indexOf(value) < 0) {
        uniques.push(value);
      }
    }
    return uniques;
  }

  Object.assign(Parse, {
    /** The SDK's private encoder/decoder, used by some older cloud code. */
    _encode(value, _, disallowObjects) {
      return encodeValue(value, !!disallowObjects, false, []);
    },
    _decode(_, value) {
      return decode(value);
    },
  });

  /**
   * Wire encoding for the rest of the runtime. `encode(value)`: objects as pointers (params,
   * queries). `encode(value, true)`: function results, objects in full as Parse Server sends them.
   */
  internals.encode = (value, full) => encodeValue(value, false, !full, [], !!full);
  internals.decode = decode;

  Object.assign(sdk, {
    arrayContainsObject,
    decode,
    encodeValue,
    parseDate,
    unique,
  });
})(globalThis);
