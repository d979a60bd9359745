// Parse.Query: builds the REST query (`where`, `order`, `limit` …) exactly as the official SDK
// does and runs it through the data op (GET classes/<className> with the params as the body).
"use strict";

((globalThis) => {
  const internals = globalThis.__cloudrtInternals;
  const Parse = globalThis.Parse;
  const ParseError = Parse.Error;
  const sdk = internals.sdk;
  const { ParseObject, ParseGeoPoint, encodeValue, request, requestOptions, withCallbacks } = sdk;

  /** The Parse regex quoting of a literal string. */
  function quote(s) {
    return "\\Q" + s.replace("\\E", "\\E\\\\E\\Q") + "\\E";
  }

  function classNameOfQueries(queries) {
    let className = null;
    for (const q of queries) {
      if (!className) className = q.className;
      if (className !== q.className) throw new Error("All queries must be for the same class.");
    }
    return className;
  }

  /** Deep copy of JSON-like data (query params hold only encoded values). */
  function copyJSON(value) {
    return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
  }

  class ParseQuery {
    /** `new Parse.Query("ClassName")`, `new Parse.Query(Subclass)` or `new Parse.Query(object)`. */
    constructor(objectClass) {
      if (typeof objectClass === "string") {
        this.className = objectClass === "User" ? "_User" : objectClass;
      } else if (objectClass instanceof ParseObject) {
        this.className = objectClass.className;
      } else if (typeof objectClass === "function") {
        if (typeof objectClass.className === "string") {
          this.className = objectClass.className;
        } else {
          this.className = new objectClass().className;
        }
      } else {
        throw new TypeError("A ParseQuery must be constructed with a ParseObject or class name.");
      }
      this._where = {};
      this._watch = [];
      this._include = [];
      this._exclude = [];
      this._count = false;
      this._limit = -1; // negative: not sent
      this._skip = 0;
      this._readPreference = null;
      this._includeReadPreference = null;
      this._subqueryReadPreference = null;
      this._extraOptions = {};
      this._comment = null;
    }

    _orQuery(queries) {
      this._where.$or = queries.map((q) => q.toJSON().where);
      return this;
    }
    _andQuery(queries) {
      this._where.$and = queries.map((q) => q.toJSON().where);
      return this;
    }
    _norQuery(queries) {
      this._where.$nor = queries.map((q) => q.toJSON().where);
      return this;
    }

    _addCondition(key, condition, value) {
      if (!this._where[key] || typeof this._where[key] === "string") this._where[key] = {};
      this._where[key][condition] = encodeValue(value, false, true);
      return this;
    }

    _regexStartWith(string) {
      return "^" + quote(string);
    }

    /** The REST query parameters. */
    toJSON() {
      const params = { where: this._where };
      if (this._watch.length) params.watch = this._watch.join(",");
      if (this._include.length) params.include = this._include.join(",");
      if (this._exclude.length) params.excludeKeys = this._exclude.join(",");
      if (this._select) params.keys = this._select.join(",");
      if (this._count) params.count = 1;
      if (this._limit >= 0) params.limit = this._limit;
      if (this._skip > 0) params.skip = this._skip;
      if (this._order) params.order = this._order.join(",");
      if (this._readPreference) params.readPreference = this._readPreference;
      if (this._includeReadPreference) params.includeReadPreference = this._includeReadPreference;
      if (this._subqueryReadPreference) params.subqueryReadPreference = this._subqueryReadPreference;
      if (this._hint) params.hint = this._hint;
      if (this._explain) params.explain = true;
      if (this._comment) params.comment = this._comment;
      for (const key of Object.keys(this._extraOptions)) params[key] = this._extraOptions[key];
      return params;
    }

    withJSON(json) {
      if (json.where) this._where = json.where;
      if (json.watch) this._watch = json.watch.split(",");
      if (json.include) this._include = json.include.split(",");
      if (json.keys) this._select = json.keys.split(",");
      if (json.excludeKeys) this._exclude = json.excludeKeys.split(",");
      if (json.count) this._count = json.count === 1;
      if (json.limit) this._limit = json.limit;
      if (json.skip) this._skip = json.skip;
      if (json.order) this._order = json.order.split(",");
      if (json.readPreference) this._readPreference = json.readPreference;
      if (json.includeReadPreference) this._includeReadPreference = json.includeReadPreference;
      if (json.subqueryReadPreference) this._subqueryReadPreference = json.subqueryReadPreference;
      if (json.hint) this._hint = json.hint;
      if (json.explain) this._explain = !!json.explain;
      if (json.comment) this._comment = json.comment;
      const known = ["where", "watch", "include", "keys", "excludeKeys", "count", "limit", "skip", "order",
        "readPreference", "includeReadPreference", "subqueryReadPreference", "hint", "explain", "comment"];
      for (const key of Object.keys(json)) {
        if (known.indexOf(key) === -1) this._extraOptions[key] = json[key];
      }
      return this;
    }

    static fromJSON(className, json) {
      return new ParseQuery(className).withJSON(json);
    }

    // ---- running it

    _objectFrom(data, response, select, opts) {
      if (!data.className) data.className = (response && response.className) || this.className;
      return opts.json ? data : ParseObject.fromJSON(data, !select);
    }

    /** Resolves to the matching objects (or `{results, count}` with withCount()). */
    find(options) {
      const promise = (async () => {
        const opts = requestOptions(options);
        const select = this._select;
        const response = await request("GET", "classes/" + this.className, this.toJSON(), opts);
        if (this._explain) return response.results;
        const results = (response.results || []).map((data) => this._objectFrom(data, response, select, opts));
        if (typeof response.count === "number") return { results, count: response.count };
        return results;
      })();
      return withCallbacks(promise, options);
    }

    /** Resolves to every match (pages through with eachBatch). */
    findAll(options) {
      const promise = (async () => {
        let result = [];
        await this.eachBatch((objects) => {
          result = result.concat(objects);
        }, options);
        return result;
      })();
      return withCallbacks(promise, options);
    }

    /** Resolves to the first match, or undefined. */
    first(options) {
      const promise = (async () => {
        const opts = requestOptions(options);
        const params = this.toJSON();
        params.limit = 1;
        const select = this._select;
        const response = await request("GET", "classes/" + this.className, params, opts);
        const objects = response.results || [];
        if (!objects[0]) return undefined;
        return this._objectFrom(objects[0], response, select, opts);
      })();
      return withCallbacks(promise, options);
    }

    /** Resolves to the object with that id; rejects with OBJECT_NOT_FOUND (101) when missing. */
    get(objectId, options) {
      this.equalTo("objectId", objectId);
      const promise = this.first(requestOptions(options)).then((response) => {
        if (response) return response;
        throw new ParseError(ParseError.OBJECT_NOT_FOUND, "Object not found.");
      });
      // Parse.com called get's error callback as error(null, error).
      return withCallbacks(promise, options, null);
    }

    /** Resolves to the number of matches. */
    count(options) {
      const promise = (async () => {
        const opts = requestOptions(options);
        const params = this.toJSON();
        params.limit = 0;
        params.count = 1;
        const response = await request("GET", "classes/" + this.className, params, opts);
        return response.count;
      })();
      return withCallbacks(promise, options);
    }

    /** Distinct values of a key (GET aggregate/<className>, master key as the SDK does). */
    distinct(key, options) {
      const opts = requestOptions(options);
      if (opts.useMasterKey === undefined) opts.useMasterKey = true;
      const params = { distinct: key, where: this._where, hint: this._hint };
      return request("GET", "aggregate/" + this.className, params, opts).then((r) => r.results);
    }

    /** Aggregation pipeline (GET aggregate/<className>, master key as the SDK does). */
    aggregate(pipeline, options) {
      if (!Array.isArray(pipeline) && typeof pipeline !== "object") {
        throw new Error("Invalid pipeline must be Array or Object");
      }
      if (Object.keys(this._where || {}).length) {
        if (!Array.isArray(pipeline)) pipeline = [pipeline];
        pipeline.unshift({ $match: this._where });
      }
      const params = { pipeline, hint: this._hint, explain: this._explain, readPreference: this._readPreference };
      const opts = requestOptions(options);
      if (opts.useMasterKey === undefined) opts.useMasterKey = true;
      return request("GET", "aggregate/" + this.className, params, opts).then((r) => r.results);
    }

    /**
     * Calls `callback(objects)` for every batch of matches (`options.batchSize`, 100 by default),
     * paging by objectId; the next batch is fetched while the callback's promise runs.
     */
    eachBatch(callback, options) {
      options = options || {};
      if (this._order || this._skip || this._limit >= 0) {
        return Promise.reject("Cannot iterate on a query with sort, skip, or limit.");
      }
      const promise = (async () => {
        const query = ParseQuery.fromJSON(this.className, copyJSON(this.toJSON()));
        query._count = false;
        query.ascending("objectId");
        query._limit = options.batchSize || 100;
        const opts = requestOptions(options);
        let previous = [];
        for (;;) {
          const [results] = await Promise.all([
            query.find(opts),
            Promise.resolve(previous.length > 0 && callback(previous)),
          ]);
          if (results.length >= query._limit) {
            const last = results[results.length - 1];
            query.greaterThan("objectId", opts.json ? last.objectId : last.id);
            previous = results;
          } else {
            if (results.length > 0) await callback(results);
            return undefined;
          }
        }
      })();
      return withCallbacks(promise, options);
    }

    /** Calls `callback(object)` for every match, one at a time, awaiting each returned promise. */
    each(callback, options) {
      return this.eachBatch((results) => {
        let done = Promise.resolve();
        for (const result of results) done = done.then(() => callback(result));
        return done;
      }, options);
    }

    async map(callback, options) {
      const array = [];
      let index = 0;
      await this.each((object) => Promise.resolve(callback(object, index, this)).then((result) => {
        array.push(result);
        index += 1;
      }), options);
      return array;
    }

    async reduce(callback, initialValue, options) {
      let accumulator = initialValue;
      let index = 0;
      await this.each((object) => {
        if (index === 0 && initialValue === undefined) {
          accumulator = object;
          index += 1;
          return undefined;
        }
        return Promise.resolve(callback(accumulator, object, index)).then((result) => {
          accumulator = result;
          index += 1;
        });
      }, options);
      if (index === 0 && initialValue === undefined) {
        throw new TypeError("Reducing empty query result set with no initial value");
      }
      return accumulator;
    }

    async filter(callback, options) {
      const array = [];
      let index = 0;
      await this.each((object) => Promise.resolve(callback(object, index, this)).then((flag) => {
        if (flag) array.push(object);
        index += 1;
      }), options);
      return array;
    }

    hint(value) {
      this._hint = value;
      return this;
    }

    explain(explain = true) {
      if (typeof explain !== "boolean") throw new Error("You can only set explain to a boolean value");
      this._explain = explain;
      return this;
    }

    comment(value) {
      if (value == null) {
        delete this._comment;
        return this;
      }
      if (typeof value !== "string") {
        throw new Error("The value of a comment to be sent with this query must be a string.");
      }
      this._comment = value;
      return this;
    }

    readPreference(readPreference, includeReadPreference, subqueryReadPreference) {
      this._readPreference = readPreference;
      this._includeReadPreference = includeReadPreference || null;
      this._subqueryReadPreference = subqueryReadPreference || null;
      return this;
    }

    cancel() {
      return this;
    }

    // ---- constraints

    equalTo(key, value) {
      if (key && typeof key === "object") {
        for (const [k, v] of Object.entries(key)) this.equalTo(k, v);
        return this;
      }
      if (typeof value === "undefined") return this.doesNotExist(key);
      this._where[key] = encodeValue(value, false, true);
      return this;
    }

    notEqualTo(key, value) {
      if (key && typeof key === "object") {
        for (const [k, v] of Object.entries(key)) this.notEqualTo(k, v);
        return this;
      }
      return this._addCondition(key, "$ne", value);
    }

    lessThan(key, value) {
      return this._addCondition(key, "$lt", value);
    }
    greaterThan(key, value) {
      return this._addCondition(key, "$gt", value);
    }
    lessThanOrEqualTo(key, value) {
      return this._addCondition(key, "$lte", value);
    }
    greaterThanOrEqualTo(key, value) {
      return this._addCondition(key, "$gte", value);
    }
    containedIn(key, values) {
      return this._addCondition(key, "$in", values);
    }
    notContainedIn(key, values) {
      return this._addCondition(key, "$nin", values);
    }
    containedBy(key, values) {
      return this._addCondition(key, "$containedBy", values);
    }
    containsAll(key, values) {
      return this._addCondition(key, "$all", values);
    }
    containsAllStartingWith(key, values) {
      if (!Array.isArray(values)) values = [values];
      return this.containsAll(key, values.map((value) => ({ $regex: this._regexStartWith(value) })));
    }
    exists(key) {
      return this._addCondition(key, "$exists", true);
    }
    doesNotExist(key) {
      return this._addCondition(key, "$exists", false);
    }

    /** `matches(key, /re/i)` or `matches(key, "re", "i")`: `$regex` (+ `$options`). */
    matches(key, regex, modifiers) {
      this._addCondition(key, "$regex", regex);
      if (!modifiers) modifiers = "";
      if (typeof regex !== "string" && regex) {
        if (regex.ignoreCase) modifiers += "i";
        if (regex.multiline) modifiers += "m";
        if (regex.dotAll) modifiers += "s";
      }
      if (modifiers.length) this._addCondition(key, "$options", modifiers);
      return this;
    }

    matchesQuery(key, query) {
      const queryJSON = query.toJSON();
      queryJSON.className = query.className;
      return this._addCondition(key, "$inQuery", queryJSON);
    }
    doesNotMatchQuery(key, query) {
      const queryJSON = query.toJSON();
      queryJSON.className = query.className;
      return this._addCondition(key, "$notInQuery", queryJSON);
    }
    matchesKeyInQuery(key, queryKey, query) {
      const queryJSON = query.toJSON();
      queryJSON.className = query.className;
      return this._addCondition(key, "$select", { key: queryKey, query: queryJSON });
    }
    doesNotMatchKeyInQuery(key, queryKey, query) {
      const queryJSON = query.toJSON();
      queryJSON.className = query.className;
      return this._addCondition(key, "$dontSelect", { key: queryKey, query: queryJSON });
    }

    contains(key, substring) {
      if (typeof substring !== "string") throw new Error("The value being searched for must be a string.");
      return this._addCondition(key, "$regex", quote(substring));
    }

    fullText(key, value, options) {
      options = options || {};
      if (!key) throw new Error("A key is required.");
      if (!value) throw new Error("A search term is required");
      if (typeof value !== "string") throw new Error("The value being searched for must be a string.");
      const fullOptions = { $term: value };
      for (const option of Object.keys(options)) {
        if (option === "language") fullOptions.$language = options[option];
        else if (option === "caseSensitive") fullOptions.$caseSensitive = options[option];
        else if (option === "diacriticSensitive") fullOptions.$diacriticSensitive = options[option];
        else throw new Error("Unknown option: " + option);
      }
      return this._addCondition(key, "$text", { $search: fullOptions });
    }

    sortByTextScore() {
      this.ascending("$score");
      this.select(["$score"]);
      return this;
    }

    startsWith(key, prefix, modifiers) {
      if (typeof prefix !== "string") throw new Error("The value being searched for must be a string.");
      return this.matches(key, this._regexStartWith(prefix), modifiers);
    }

    endsWith(key, suffix, modifiers) {
      if (typeof suffix !== "string") throw new Error("The value being searched for must be a string.");
      return this.matches(key, quote(suffix) + "$", modifiers);
    }

    near(key, point) {
      if (!(point instanceof ParseGeoPoint)) point = new ParseGeoPoint(point);
      return this._addCondition(key, "$nearSphere", point);
    }

    withinRadians(key, point, maxDistance, sorted) {
      if (sorted || sorted === undefined) {
        this.near(key, point);
        return this._addCondition(key, "$maxDistance", maxDistance);
      }
      return this._addCondition(key, "$geoWithin", {
        $centerSphere: [[point.longitude, point.latitude], maxDistance],
      });
    }

    withinMiles(key, point, maxDistance, sorted) {
      return this.withinRadians(key, point, maxDistance / 3958.8, sorted);
    }

    withinKilometers(key, point, maxDistance, sorted) {
      return this.withinRadians(key, point, maxDistance / 6371.0, sorted);
    }

    withinGeoBox(key, southwest, northeast) {
      if (!(southwest instanceof ParseGeoPoint)) southwest = new ParseGeoPoint(southwest);
      if (!(northeast instanceof ParseGeoPoint)) northeast = new ParseGeoPoint(northeast);
      return this._addCondition(key, "$within", { $box: [southwest, northeast] });
    }

    withinPolygon(key, points) {
      return this._addCondition(key, "$geoWithin", { $polygon: points });
    }

    polygonContains(key, point) {
      return this._addCondition(key, "$geoIntersects", { $point: point });
    }

    // ---- ordering

    ascending(...keys) {
      this._order = [];
      return this.addAscending(...keys);
    }

    addAscending(...keys) {
      if (!this._order) this._order = [];
      for (let key of keys) {
        if (Array.isArray(key)) key = key.join();
        this._order = this._order.concat(key.replace(/\s/g, "").split(","));
      }
      return this;
    }

    descending(...keys) {
      this._order = [];
      return this.addDescending(...keys);
    }

    addDescending(...keys) {
      if (!this._order) this._order = [];
      for (let key of keys) {
        if (Array.isArray(key)) key = key.join();
        this._order = this._order.concat(key.replace(/\s/g, "").split(",").map((k) => "-" + k));
      }
      return this;
    }

    // ---- options

    skip(n) {
      if (typeof n !== "number" || n < 0) throw new Error("You can only skip by a positive number");
      this._skip = n;
      return this;
    }

    limit(n) {
      if (typeof n !== "number") throw new Error("You can only set the limit to a numeric value");
      this._limit = n;
      return this;
    }

    withCount(includeCount = true) {
      if (typeof includeCount !== "boolean") throw new Error("You can only set withCount to a boolean value");
      this._count = includeCount;
      return this;
    }

    include(...keys) {
      for (const key of keys) {
        if (Array.isArray(key)) this._include = this._include.concat(key);
        else this._include.push(key);
      }
      return this;
    }

    includeAll() {
      return this.include("*");
    }

    select(...keys) {
      if (!this._select) this._select = [];
      for (const key of keys) {
        if (Array.isArray(key)) this._select = this._select.concat(key);
        else this._select.push(key);
      }
      return this;
    }

    exclude(...keys) {
      for (const key of keys) {
        if (Array.isArray(key)) this._exclude = this._exclude.concat(key);
        else this._exclude.push(key);
      }
      return this;
    }

    watch(...keys) {
      for (const key of keys) {
        if (Array.isArray(key)) this._watch = this._watch.concat(key);
        else this._watch.push(key);
      }
      return this;
    }

    subscribe() {
      return Promise.reject(new ParseError(ParseError.OTHER_CAUSE, "LiveQuery is not available in cloud code"));
    }

    static or(...queries) {
      const query = new ParseQuery(classNameOfQueries(queries));
      return query._orQuery(queries);
    }

    static and(...queries) {
      const query = new ParseQuery(classNameOfQueries(queries));
      return query._andQuery(queries);
    }

    static nor(...queries) {
      const query = new ParseQuery(classNameOfQueries(queries));
      return query._norQuery(queries);
    }
  }

  Parse.Query = ParseQuery;
  sdk.ParseQuery = ParseQuery;
})(globalThis);
