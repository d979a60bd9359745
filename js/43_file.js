// Parse.File: saved, read and deleted through the server's files routes.
// Part of cloud code's SDK layer (split from one file along its seams); each part takes what
// it needs from the shared `sdk` namespace and adds its exports to it explicitly at the end.
"use strict";

((globalThis) => {
  const internals = globalThis.__cloudrtInternals;
  const sdk = internals.sdk;
  const Parse = globalThis.Parse;
  const ParseError = globalThis.Parse.Error;
  const { isDangerousKey, request, requestOptions, withCallbacks } = sdk;

  const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  function encodeBase64(bytes) {
    let out = "";
    for (let i = 0; i < bytes.length; i += 3) {
      const b0 = bytes[i] & 0xff;
      const b1 = i + 1 < bytes.length ? bytes[i + 1] & 0xff : 0;
      const b2 = i + 2 < bytes.length ? bytes[i + 2] & 0xff : 0;
      out += BASE64[b0 >> 2] + BASE64[((b0 & 3) << 4) | (b1 >> 4)];
      out += i + 1 < bytes.length ? BASE64[((b1 & 15) << 2) | (b2 >> 6)] : "=";
      out += i + 2 < bytes.length ? BASE64[b2 & 63] : "=";
    }
    return out;
  }

  /** The app id and stored name of a file this server serves, read from its URL. */
  function servedFile(url) {
    const match = /\/files\/([^/?#]+)\/([^/?#]+)$/.exec(url || "");
    return match ? { appId: match[1], name: match[2] } : null;
  }

  class ParseFile {
    constructor(name, data, type, metadata, tags) {
      this._name = name;
      this._url = undefined;
      this._metadata = metadata && typeof metadata === "object" ? metadata : {};
      this._tags = tags && typeof tags === "object" ? tags : {};
      this._data = undefined;
      this._source = undefined;
      if (data !== undefined) {
        if (Array.isArray(data) || data instanceof Uint8Array) {
          this._data = encodeBase64(data);
          this._source = { format: "base64", base64: this._data, type };
        } else if (data && typeof data.base64 === "string") {
          const base64 = data.base64.split(",").slice(-1)[0];
          const dataType = type ||
            data.base64.split(";").slice(0, 1)[0].split(":").slice(1, 2)[0] || "text/plain";
          this._data = base64;
          this._source = { format: "base64", base64, type: dataType };
        } else if (data && typeof data.uri === "string") {
          this._source = { format: "uri", uri: data.uri, type };
        } else {
          throw new TypeError("Cannot create a Parse.File with that data.");
        }
      }
    }
    name() {
      return this._name;
    }
    url(options) {
      if (!this._url) return undefined;
      if (options && options.forceSecure) return this._url.replace(/^http:\/\//i, "https://");
      return this._url;
    }
    metadata() {
      return this._metadata;
    }
    tags() {
      return this._tags;
    }
    setMetadata(metadata) {
      if (metadata && typeof metadata === "object") {
        for (const key of Object.keys(metadata)) this.addMetadata(key, metadata[key]);
      }
    }
    addMetadata(key, value) {
      if (typeof key === "string" && !isDangerousKey(key)) this._metadata[key] = value;
    }
    setTags(tags) {
      if (tags && typeof tags === "object") {
        for (const key of Object.keys(tags)) this.addTag(key, tags[key]);
      }
    }
    addTag(key, value) {
      if (typeof key === "string" && !isDangerousKey(key)) this._tags[key] = value;
    }
    /** The bytes as base64: kept from construction, else read from the server (or the URL). */
    async getData() {
      if (this._data) return this._data;
      if (!this._url) throw new Error("Cannot retrieve data for unsaved ParseFile.");
      const served = servedFile(this._url);
      if (served) {
        const answer = await request("GET", "files/" + served.appId + "/" + served.name);
        this._data = answer.base64;
      } else {
        const response = await globalThis.Parse.Cloud.httpRequest({ url: this._url });
        this._data = encodeBase64(response.buffer);
      }
      return this._data;
    }
    /** Uploads the data (a `uri` source is fetched first), then takes the stored name and URL. */
    save(options) {
      const saving = (async () => {
        if (this._url) return this;
        if (!this._source) throw new ParseError(ParseError.FILE_SAVE_ERROR, "Cannot save a Parse.File without data.");
        let { base64, type } = this._source;
        if (this._source.format === "uri") {
          const response = await globalThis.Parse.Cloud.httpRequest({ url: this._source.uri });
          base64 = encodeBase64(response.buffer);
          type = type || response.headers["content-type"];
        }
        const body = { base64, _ContentType: type, fileData: { metadata: this._metadata, tags: this._tags } };
        const answer = await request("POST", "files/" + encodeURIComponent(this._name), body, requestOptions(options));
        this._name = answer.name;
        this._url = answer.url;
        if (!this._data) this._data = base64;
        return this;
      })();
      return withCallbacks(saving, options);
    }
    /** Deletes the stored file, with the master key as the SDK always sends for it. */
    async destroy() {
      if (!this._name) throw new ParseError(ParseError.FILE_DELETE_UNNAMED_ERROR, "Cannot delete an unnamed file.");
      await request("DELETE", "files/" + encodeURIComponent(this._name), undefined, { useMasterKey: true });
      this._data = undefined;
      return this;
    }
    cancel() {}
    toJSON() {
      return { __type: "File", name: this._name, url: this._url };
    }
    equals(other) {
      if (this === other) return true;
      return other instanceof ParseFile && this.name() === other.name() &&
        this.url() === other.url() && typeof this.url() !== "undefined";
    }
    static fromJSON(obj) {
      if (obj.__type !== "File") throw new TypeError("JSON object does not represent a ParseFile");
      const file = new ParseFile(obj.name);
      file._url = obj.url;
      return file;
    }
    static encodeBase64(bytes) {
      return encodeBase64(bytes);
    }
  }

  Parse.File = ParseFile;

  Object.assign(sdk, {
    ParseFile,
  });
})(globalThis);
