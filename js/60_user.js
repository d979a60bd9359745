// Parse.User, Parse.Session, Parse.Role and Parse.Installation, as the official SDK behaves on a
// server: there is no current user (Parse.User.current() is null); a call runs as the request's
// caller unless given {useMasterKey: true} or {sessionToken}. Also internals.useMasterKey, which
// Parse.Cloud.useMasterKey() (Parse.com) calls.
"use strict";

((globalThis) => {
  const internals = globalThis.__cloudrtInternals;
  const Parse = globalThis.Parse;
  const ParseError = Parse.Error;
  const sdk = internals.sdk;
  const { ParseObject, ParseACL, request, requestOptions, withCallbacks } = sdk;

  const optionsWithToken = (options, sessionToken) => {
    const opts = requestOptions(options);
    opts.sessionToken = sessionToken;
    return opts;
  };

  class ParseUser extends ParseObject {
    constructor(attributes) {
      super("_User");
      if (attributes && typeof attributes === "object") {
        try {
          this.set(attributes);
        } catch (_) {
          throw new Error("Can't create an invalid Parse User");
        }
      }
    }

    _preserveFieldsOnFetch() {
      const sessionToken = this.get("sessionToken");
      return sessionToken === undefined ? null : { sessionToken };
    }

    isCurrent() {
      return false;
    }
    isCurrentAsync() {
      return Promise.resolve(false);
    }
    authenticated() {
      return false;
    }

    getUsername() {
      const username = this.get("username");
      return username == null || typeof username === "string" ? username : "";
    }
    setUsername(username) {
      const authData = this.get("authData");
      if (authData && typeof authData === "object" && Object.prototype.hasOwnProperty.call(authData, "anonymous")) {
        authData.anonymous = null;
      }
      this.set("username", username);
    }
    setPassword(password) {
      this.set("password", password);
    }
    getEmail() {
      const email = this.get("email");
      return email == null || typeof email === "string" ? email : "";
    }
    setEmail(email) {
      return this.set("email", email);
    }
    getSessionToken() {
      const token = this.get("sessionToken");
      return token == null || typeof token === "string" ? token : "";
    }

    /** Signs the user up (POST users); keeps the session token from the answer. Resolves to this. */
    signUp(attrs, options) {
      const promise = (async () => {
        const opts = requestOptions(options);
        const username = (attrs && attrs.username) || this.get("username");
        const password = (attrs && attrs.password) || this.get("password");
        if (!username || !username.length) {
          throw new ParseError(ParseError.OTHER_CAUSE, "Cannot sign up user with an empty username.");
        }
        if (!password || !password.length) {
          throw new ParseError(ParseError.OTHER_CAUSE, "Cannot sign up user with an empty password.");
        }
        await this.save(attrs, opts);
        this._finishFetch({ password: undefined });
        return this;
      })();
      return withCallbacks(promise, options, this);
    }

    /** Logs in with this user's username and password (POST login). Resolves to this. */
    logIn(options) {
      const promise = (async () => {
        const opts = requestOptions(options);
        const body = {
          username: this.get("username"),
          password: this.get("password"),
          authData: this.get("authData"),
        };
        const response = await request("POST", "login", body, opts);
        this._migrateId(response.objectId);
        this._setExisted(true);
        this._clearPendingOps(["username", "password"]);
        response.password = undefined;
        this._finishFetch(response);
        return this;
      })();
      return withCallbacks(promise, options, this);
    }

    verifyPassword(password, options) {
      return ParseUser.verifyPassword(this.getUsername() || "", password, options);
    }

    static readOnlyAttributes() {
      return ["sessionToken"];
    }

    /** `Parse.User.extend(protoProps, classProps)` adds to Parse.User itself, as the SDK does. */
    static extend(protoProps, classProps) {
      if (typeof protoProps === "string") return ParseObject.extend.call(ParseUser, protoProps, classProps, arguments[2]);
      if (protoProps) {
        for (const prop of Object.keys(protoProps)) {
          if (prop !== "className") {
            Object.defineProperty(ParseUser.prototype, prop, {
              value: protoProps[prop], enumerable: false, writable: true, configurable: true,
            });
          }
        }
      }
      if (classProps) {
        for (const prop of Object.keys(classProps)) {
          if (prop !== "className") {
            Object.defineProperty(ParseUser, prop, {
              value: classProps[prop], enumerable: false, writable: true, configurable: true,
            });
          }
        }
      }
      return ParseUser;
    }

    /** There is no current user on a server. */
    static current() {
      return null;
    }
    static currentAsync() {
      return Promise.resolve(null);
    }

    static signUp(username, password, attrs, options) {
      attrs = attrs || {};
      attrs.username = username;
      attrs.password = password;
      const user = new this(attrs);
      return user.signUp({}, options);
    }

    static logIn(username, password, options) {
      if (typeof username !== "string") {
        return Promise.reject(new ParseError(ParseError.OTHER_CAUSE, "Username must be a string."));
      }
      if (typeof password !== "string") {
        return Promise.reject(new ParseError(ParseError.OTHER_CAUSE, "Password must be a string."));
      }
      const user = new this();
      user._finishFetch({ username, password });
      return user.logIn(options);
    }

    /** The user a session token belongs to (GET users/me with that token). */
    static become(sessionToken, options) {
      const promise = (async () => {
        const opts = optionsWithToken(options, sessionToken);
        const response = await request("GET", "users/me", undefined, opts);
        const user = new this();
        user._finishFetch(response);
        user._setExisted(true);
        return user;
      })();
      return withCallbacks(promise, options);
    }

    static me(sessionToken, options) {
      return this.become(sessionToken, options);
    }

    static hydrate(userJSON) {
      const user = new this();
      user._finishFetch(userJSON);
      user._setExisted(true);
      return Promise.resolve(user);
    }

    /** Nothing to log out on a server; with {sessionToken} that session is ended (POST logout). */
    static logOut(options) {
      if (options && typeof options.sessionToken === "string") {
        return request("POST", "logout", {}, requestOptions(options)).then(() => undefined);
      }
      return Promise.resolve();
    }

    static requestPasswordReset(email, options) {
      return withCallbacks(
        request("POST", "requestPasswordReset", { email }, requestOptions(options)),
        options,
      );
    }

    static requestEmailVerification(email, options) {
      return withCallbacks(
        request("POST", "verificationEmailRequest", { email }, requestOptions(options)),
        options,
      );
    }

    static verifyPassword(username, password, options) {
      if (typeof username !== "string") {
        return Promise.reject(new ParseError(ParseError.OTHER_CAUSE, "Username must be a string."));
      }
      if (typeof password !== "string") {
        return Promise.reject(new ParseError(ParseError.OTHER_CAUSE, "Password must be a string."));
      }
      return request("GET", "verifyPassword", { username, password }, requestOptions(options)).then((response) => {
        const user = new this();
        user._finishFetch(response);
        user._setExisted(true);
        return user;
      });
    }

    static enableUnsafeCurrentUser() {}
    static disableUnsafeCurrentUser() {}
    static enableRevocableSession() {
      return Promise.resolve();
    }
    static allowCustomUserClass() {}
  }

  class ParseSession extends ParseObject {
    constructor(attributes) {
      super("_Session");
      if (attributes && typeof attributes === "object") {
        try {
          this.set(attributes);
        } catch (_) {
          throw new Error("Can't create an invalid Session");
        }
      }
    }

    getSessionToken() {
      const token = this.get("sessionToken");
      return typeof token === "string" ? token : "";
    }

    static readOnlyAttributes() {
      return ["createdWith", "expiresAt", "installationId", "restricted", "sessionToken", "user"];
    }

    /** There is no current user on a server: rejects, unless given {sessionToken} (GET sessions/me). */
    static current(options) {
      if (!options || typeof options.sessionToken !== "string") {
        return Promise.reject(new ParseError(ParseError.INVALID_SESSION_TOKEN, "There is no current user."));
      }
      return request("GET", "sessions/me", undefined, requestOptions(options)).then((data) => {
        const session = new ParseSession();
        session._finishFetch(data);
        session._setExisted(true);
        return session;
      });
    }

    static isCurrentSessionRevocable() {
      return false;
    }
  }

  class ParseRole extends ParseObject {
    /** `new Parse.Role(name, acl)`. */
    constructor(name, acl) {
      super("_Role");
      if (typeof name === "string" && acl instanceof ParseACL) {
        this.setName(name);
        this.setACL(acl);
      }
    }

    getName() {
      const name = this.get("name");
      return name == null || typeof name === "string" ? name : "";
    }

    setName(name, options) {
      this._validateName(name);
      return this.set("name", name, options);
    }

    getUsers() {
      return this.relation("users");
    }

    getRoles() {
      return this.relation("roles");
    }

    _validateName(newName) {
      if (typeof newName !== "string") {
        throw new ParseError(ParseError.OTHER_CAUSE, "A role's name must be a String.");
      }
      if (!/^[0-9a-zA-Z\-_ ]+$/.test(newName)) {
        throw new ParseError(ParseError.OTHER_CAUSE,
          "A role's name can be only contain alphanumeric characters, _, -, and spaces.");
      }
    }

    validate(attrs, options) {
      const invalid = super.validate(attrs, options);
      if (invalid) return invalid;
      if ("name" in attrs && attrs.name !== this.getName()) {
        if (this.id && this.id !== attrs.objectId) {
          return new ParseError(ParseError.OTHER_CAUSE, "A role's name can only be set before it has been saved.");
        }
        try {
          this._validateName(attrs.name);
        } catch (e) {
          return e;
        }
      }
      return false;
    }
  }

  class ParseInstallation extends ParseObject {
    constructor(attributes) {
      super("_Installation");
      if (attributes && typeof attributes === "object") {
        try {
          this.set(attributes);
        } catch (_) {
          throw new Error("Can't create an invalid Installation");
        }
      }
    }
  }

  ParseObject.registerSubclass("_User", ParseUser);
  ParseObject.registerSubclass("_Session", ParseSession);
  ParseObject.registerSubclass("_Role", ParseRole);
  ParseObject.registerSubclass("_Installation", ParseInstallation);

  Object.assign(Parse, {
    User: ParseUser,
    Session: ParseSession,
    Role: ParseRole,
    Installation: ParseInstallation,
  });
  Object.assign(sdk, { ParseUser, ParseSession, ParseRole, ParseInstallation });

  /**
   * Parse.Cloud.useMasterKey(): later calls of the request being handled run with the master key
   * (flag `useMasterKey` on the object internals.currentAuth() returns). Called while no request
   * is running (main.js top level), it applies to every later call, as it did on Parse.com.
   */
  internals.useMasterKey = () => {
    const auth = sdk.currentAuthObject();
    if (auth) auth.useMasterKey = true;
    else sdk.setGlobalMasterKey(true);
  };
})(globalThis);
