// Parse.Cloud.httpRequest, Parse.Cloud.Cookie and the HTTPResponse object, as Parse.com's
// Cloud Code had them. The options are checked and encoded here (query strings and form bodies
// as Node's querystring, which Parse Server uses); the request itself is op_http_request
// (src/runtime/ops/http.rs), which enforces what cloud code must not get around: http/https
// only, the port rule on every hop, 8 requests in flight per cloud-code request, timeouts and
// the response-size cap. Parse.Cloud is built by 70_cloud.js, from internals.cloudHttp.
"use strict";

((globalThis) => {
  const core = globalThis.Deno.core;
  const { op_http_request } = core.ops;
  const internals = globalThis.__cloudrtInternals;
  const { withCallbacks } = internals.sdk;

  const METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];
  const JSON_TYPE = /(^|[/+])json\s*(;|$)/i;
  const FORM_TYPE = /^\s*application\/x-www-form-urlencoded\s*(;|$)/i;
  const EMPTY = new Uint8Array(0);

  /** Sets an own property even when the name is "__proto__" (names here come from servers). */
  function setOwn(object, key, value) {
    Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
  }

  /** A value as Node's querystring.stringify writes it: other types become "". */
  function primitive(value) {
    switch (typeof value) {
      case "string":
        return value;
      case "boolean":
        return value ? "true" : "false";
      case "number":
        return isFinite(value) ? String(value) : "";
      case "bigint":
        return String(value);
      default:
        return "";
    }
  }

  /** `{q: "Sean Plott", tag: ["a", "b"]}` → "q=Sean%20Plott&tag=a&tag=b" (Node's querystring). */
  function stringify(object) {
    const parts = [];
    for (const key of Object.keys(object)) {
      const name = encodeURIComponent(key) + "=";
      const value = object[key];
      const values = Array.isArray(value) ? value : [value];
      for (const item of values) parts.push(name + encodeURIComponent(primitive(item)));
    }
    return parts.join("&");
  }

  /** Decodes one query component; malformed escapes stay as written, as Node's querystring does. */
  function unescape(text) {
    const spaced = text.replace(/\+/g, " ");
    try {
      return decodeURIComponent(spaced);
    } catch (_) {
      return spaced;
    }
  }

  /** Splits "a=1&b=2" into [name, value] pairs, decoded. */
  function pairs(text) {
    const out = [];
    for (const part of text.split("&")) {
      if (part === "") continue;
      const equals = part.indexOf("=");
      out.push(equals < 0
        ? [unescape(part), ""]
        : [unescape(part.slice(0, equals)), unescape(part.slice(equals + 1))]);
    }
    return out;
  }

  /** A form body as an object; a repeated name becomes an array (Node's querystring.parse). */
  function parseForm(text) {
    const out = {};
    for (const [name, value] of pairs(text)) {
      if (!Object.prototype.hasOwnProperty.call(out, name)) setOwn(out, name, value);
      else if (Array.isArray(out[name])) out[name].push(value);
      else out[name] = [out[name], value];
    }
    return out;
  }

  /** `params` as an encoded query: an object is encoded; a raw string is re-encoded pair by pair. */
  function encodeParams(params) {
    if (params == null) return "";
    if (typeof params === "string") {
      return pairs(params.replace(/^\?/, ""))
        .map(([name, value]) => encodeURIComponent(name) + "=" + encodeURIComponent(value))
        .join("&");
    }
    if (typeof params === "object") return stringify(params);
    throw new TypeError("httpRequest: params must be an object or a string");
  }

  /** `headers` as [name, value] lines; undefined values are dropped, an array repeats the header. */
  function headerLines(headers) {
    const lines = [];
    if (headers == null) return lines;
    if (typeof headers !== "object") throw new TypeError("httpRequest: headers must be an object");
    for (const name of Object.keys(headers)) {
      const value = headers[name];
      if (value === undefined) continue;
      for (const item of Array.isArray(value) ? value : [value]) lines.push([name, String(item)]);
    }
    return lines;
  }

  function bytesOf(body) {
    if (body instanceof ArrayBuffer) return new Uint8Array(body);
    if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    return undefined;
  }

  /**
   * The body as bytes, as Parse.com documented: a string as is, binary as is, an object as a
   * form (setting that Content-Type when none is given) or as JSON under a JSON Content-Type.
   * Adds the Content-Type header it implies to `lines`.
   */
  function encodeBody(body, lines) {
    if (body == null) return undefined;
    const binary = bytesOf(body);
    if (binary) return binary;
    if (typeof body !== "object") return core.encode(typeof body === "string" ? body : String(body));
    const contentType = lines.find(([name]) => name.toLowerCase() === "content-type");
    if (!contentType) {
      lines.push(["Content-Type", "application/x-www-form-urlencoded"]);
      return core.encode(stringify(body));
    }
    if (JSON_TYPE.test(contentType[1])) return core.encode(JSON.stringify(body));
    if (FORM_TYPE.test(contentType[1])) return core.encode(stringify(body));
    throw new TypeError(
      "httpRequest: an object body needs no Content-Type (sent as a form), a JSON one or a form one, not " +
        JSON.stringify(contentType[1]) + "; pass a string or bytes instead",
    );
  }

  /** A cookie from a Set-Cookie header (Parse.com's Parse.Cloud.Cookie). */
  class Cookie {
    constructor(fields) {
      const given = fields || {};
      this.name = given.name;
      this.value = given.value;
      this.expires = given.expires;
      this.path = given.path;
      this.domain = given.domain;
      this.secure = !!given.secure;
      this.httpOnly = !!given.httpOnly;
    }

    /** Parses one Set-Cookie value; undefined when it has no name=value. */
    static parse(header) {
      const [first, ...attributes] = header.split(";");
      const equals = first.indexOf("=");
      if (equals < 0) return undefined;
      const fields = { name: first.slice(0, equals).trim(), value: first.slice(equals + 1).trim() };
      if (fields.name === "") return undefined;
      let maxAge;
      for (const attribute of attributes) {
        const at = attribute.indexOf("=");
        const key = (at < 0 ? attribute : attribute.slice(0, at)).trim().toLowerCase();
        const value = at < 0 ? "" : attribute.slice(at + 1).trim();
        if (key === "expires") {
          const date = new Date(value);
          if (!isNaN(date.getTime())) fields.expires = date;
        } else if (key === "max-age" && /^-?\d+$/.test(value)) {
          maxAge = Number(value);
        } else if (key === "path") {
          fields.path = value;
        } else if (key === "domain") {
          fields.domain = value.replace(/^\./, "");
        } else if (key === "secure") {
          fields.secure = true;
        } else if (key === "httponly") {
          fields.httpOnly = true;
        }
      }
      // Max-Age wins over Expires (RFC 6265 §5.3).
      if (maxAge !== undefined) fields.expires = new Date(Date.now() + maxAge * 1000);
      return new Cookie(fields);
    }
  }

  /**
   * The response, for success and failure alike: status, headers (lower-case names; repeated
   * headers joined with ", " except set-cookie, an array, as Node has them), buffer (the raw
   * bytes), text, data and cookies. text and data are computed on first read, as in Parse
   * Server, so a large binary body is not decoded unless asked.
   */
  class HTTPResponse {
    constructor(status, headerPairs, buffer, text) {
      this.status = status;
      this.headers = {};
      this.cookies = {};
      for (const [name, value] of headerPairs) {
        if (name === "set-cookie") {
          if (!Object.prototype.hasOwnProperty.call(this.headers, name)) this.headers[name] = [];
          this.headers[name].push(value);
          const cookie = Cookie.parse(value);
          if (cookie) setOwn(this.cookies, cookie.name, cookie);
        } else if (Object.prototype.hasOwnProperty.call(this.headers, name)) {
          this.headers[name] += ", " + value;
        } else {
          setOwn(this.headers, name, value);
        }
      }
      this.buffer = buffer;
      let decoded = text;
      let parsed;
      let parsedYet = false;
      const getText = () => {
        if (decoded === undefined) decoded = core.decode(this.buffer);
        return decoded;
      };
      const getData = () => {
        if (!parsedYet) {
          parsedYet = true;
          parsed = parseData(this.headers["content-type"], getText);
        }
        return parsed;
      };
      Object.defineProperty(this, "text", { enumerable: true, get: getText });
      Object.defineProperty(this, "data", { enumerable: true, get: getData });
    }
  }

  /** JSON for a JSON content type, an object for a form; undefined otherwise or when invalid. */
  function parseData(contentType, getText) {
    if (typeof contentType !== "string") return undefined;
    if (JSON_TYPE.test(contentType)) {
      try {
        return JSON.parse(getText());
      } catch (_) {
        return undefined;
      }
    }
    if (FORM_TYPE.test(contentType)) return parseForm(getText());
    return undefined;
  }

  /**
   * A request that got no HTTP answer (bad options, port rule, refused, DNS, TLS, timeout, body
   * too large): status 0, the reason in text and message.
   */
  function failure(error) {
    const message = String((error && error.message) || error);
    const response = new HTTPResponse(0, [], EMPTY, message);
    response.message = message;
    return response;
  }

  async function send(options) {
    if (!options || typeof options !== "object") throw new TypeError("httpRequest needs an options object");
    if (typeof options.url !== "string" || options.url === "") {
      throw new TypeError("httpRequest: url must be a non-empty string");
    }
    const method = options.method === undefined ? "GET" : String(options.method).toUpperCase();
    if (!METHODS.includes(method)) {
      throw new TypeError("httpRequest: method " + JSON.stringify(options.method) + " is not one of " + METHODS.join(" "));
    }
    const headers = headerLines(options.headers);
    const body = encodeBody(options.body, headers);
    const raw = await op_http_request({
      url: options.url,
      method,
      query: encodeParams(options.params),
      headers,
      followRedirects: options.followRedirects === true,
      hasBody: body !== undefined,
    }, body || EMPTY, internals.scopeId());
    return new HTTPResponse(raw.status, raw.headers, raw.body);
  }

  /**
   * Parse.Cloud.httpRequest(options): resolves with the response when its status is 200–399,
   * rejects with it otherwise. That is Parse Server's rule (its httpRequest rejects "< 200 ||
   * >= 400"), which Parse.com apps were ported against: a 3xx not followed is an answer, not
   * an error. `success` / `error` callbacks are called besides.
   */
  function httpRequest(options) {
    const promise = send(options).then(
      (response) => {
        if (response.status >= 200 && response.status < 400) return response;
        throw response;
      },
      (error) => {
        throw failure(error);
      },
    );
    return withCallbacks(promise, options);
  }

  internals.httpRequest = httpRequest;
  internals.cloudHttp = { httpRequest, Cookie, HTTPResponse };
})(globalThis);
