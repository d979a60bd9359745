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

  const codes = {
    OTHER_CAUSE: -1, INTERNAL_SERVER_ERROR: 1, CONNECTION_FAILED: 100, OBJECT_NOT_FOUND: 101,
    INVALID_QUERY: 102, INVALID_CLASS_NAME: 103, MISSING_OBJECT_ID: 104, INVALID_KEY_NAME: 105,
    INVALID_POINTER: 106, INVALID_JSON: 107, COMMAND_UNAVAILABLE: 108, NOT_INITIALIZED: 109,
    INCORRECT_TYPE: 111, INVALID_CHANNEL_NAME: 112, PUSH_MISCONFIGURED: 115,
    OBJECT_TOO_LARGE: 116, OPERATION_FORBIDDEN: 119, CACHE_MISS: 120, INVALID_NESTED_KEY: 121,
    INVALID_FILE_NAME: 122, INVALID_ACL: 123, TIMEOUT: 124, INVALID_EMAIL_ADDRESS: 125,
    MISSING_CONTENT_TYPE: 126, MISSING_CONTENT_LENGTH: 127, INVALID_CONTENT_LENGTH: 128,
    FILE_TOO_LARGE: 129, FILE_SAVE_ERROR: 130, DUPLICATE_VALUE: 137, INVALID_ROLE_NAME: 139,
    EXCEEDED_QUOTA: 140, SCRIPT_FAILED: 141, VALIDATION_ERROR: 142, INVALID_IMAGE_DATA: 143,
    UNSAVED_FILE_ERROR: 151, INVALID_PUSH_TIME_ERROR: 152, FILE_DELETE_ERROR: 153,
    REQUEST_LIMIT_EXCEEDED: 155, INVALID_EVENT_NAME: 160, USERNAME_MISSING: 200,
    PASSWORD_MISSING: 201, USERNAME_TAKEN: 202, EMAIL_TAKEN: 203, EMAIL_MISSING: 204,
    EMAIL_NOT_FOUND: 205, SESSION_MISSING: 206, MUST_CREATE_USER_THROUGH_SIGNUP: 207,
    ACCOUNT_ALREADY_LINKED: 208, INVALID_SESSION_TOKEN: 209, LINKED_ID_MISSING: 250,
    INVALID_LINKED_SESSION: 251, UNSUPPORTED_SERVICE: 252, AGGREGATE_ERROR: 600,
    FILE_READ_ERROR: 601, X_DOMAIN_REQUEST: 602,
  };
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
