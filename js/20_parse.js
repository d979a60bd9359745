// The `Parse` global as cloud code sees it: Parse.Error and the encoding of Parse types.
"use strict";

((globalThis) => {
  class ParseError extends Error {
    constructor(code, message) {
      super(message);
      this.code = code;
      this.message = message;
    }
    toString() {
      return "ParseError: " + this.code + " " + this.message;
    }
    toJSON() {
      return { code: this.code, error: this.message };
    }
  }
  ParseError.prototype.name = "ParseError";

  // Every code, by its SDK name, from the server's one list (src/error.rs).
  const codes = globalThis.Deno.core.ops.op_parse_error_codes();
  Object.assign(ParseError, codes);

  /** Turn wire values (`{"__type":"Date"}` …) into JS values, as Parse Server does for params. */
  function decode(value) {
    if (value === null || typeof value !== "object") return value;
    if (Array.isArray(value)) return value.map(decode);
    if (value.__type === "Date" && typeof value.iso === "string") return new Date(value.iso);
    const out = {};
    for (const key of Object.keys(value)) out[key] = decode(value[key]);
    return out;
  }

  /** Turn JS values into the Parse wire format (Dates as `{"__type":"Date","iso":…}`). */
  function encode(value) {
    if (value === null || typeof value !== "object") return value;
    if (value instanceof Date) {
      return isNaN(value.getTime()) ? null : { __type: "Date", iso: value.toISOString() };
    }
    if (Array.isArray(value)) return value.map(encode);
    if (value instanceof ParseError) return value.toJSON();
    if (typeof value.toJSON === "function") return encode(value.toJSON());
    const out = {};
    for (const key of Object.keys(value)) out[key] = encode(value[key]);
    return out;
  }

  // Ops fail with a Parse error as the class "ParseError" plus its `code`
  // (src/runtime/ops/error.rs). deno_core builds the error here, then sets `code` only if the
  // error has no such property yet.
  globalThis.Deno.core.registerErrorBuilder("ParseError", (message) => {
    const error = new ParseError(undefined, message);
    delete error.code;
    return error;
  });

  globalThis.Parse = { Error: ParseError, VERSION: "cloudrt" };
  globalThis.__cloudrtInternals.decode = decode;
  globalThis.__cloudrtInternals.encode = encode;
})(globalThis);
