// Parse.ACL.
// Part of cloud code's SDK layer (split from one file along its seams); each part takes what
// it needs from the shared `sdk` namespace and adds its exports to it explicitly at the end.
"use strict";

((globalThis) => {
  const internals = globalThis.__cloudrtInternals;
  const sdk = internals.sdk;
  const { isDangerousKey } = sdk;

  const PUBLIC_KEY = "*";

  /** A user/role/id argument of the ACL setters -> the ACL key. */
  function aclKey(userId, forGet) {
    if (userId instanceof sdk.ParseObject && userId.className === "_Role") {
      const name = userId.getName();
      if (!name) throw new TypeError("Role must have a name");
      return "role:" + name;
    }
    if (userId instanceof sdk.ParseObject) {
      if (forGet && !userId.id) throw new Error("Cannot get access for a ParseUser without an ID");
      return userId.id;
    }
    return userId;
  }

  function roleName(role) {
    if (role instanceof sdk.ParseObject && role.className === "_Role") role = role.getName();
    if (typeof role !== "string") throw new TypeError("role must be a ParseRole or a String");
    return role;
  }

  class ParseACL {
    constructor(arg1) {
      this.permissionsById = {};
      if (arg1 && typeof arg1 === "object") {
        if (arg1 instanceof sdk.ParseObject) {
          this.setReadAccess(arg1, true);
          this.setWriteAccess(arg1, true);
        } else {
          for (const userId of Object.keys(arg1)) {
            if (isDangerousKey(userId)) continue;
            const accessList = arg1[userId];
            this.permissionsById[userId] = {};
            for (const permission of Object.keys(accessList || {})) {
              const allowed = accessList[permission];
              if (permission !== "read" && permission !== "write") {
                throw new TypeError("Tried to create an ACL with an invalid permission type.");
              }
              if (typeof allowed !== "boolean") {
                throw new TypeError("Tried to create an ACL with an invalid permission value.");
              }
              this.permissionsById[userId][permission] = allowed;
            }
          }
        }
      } else if (typeof arg1 === "function") {
        throw new TypeError("ParseACL constructed with a function. Did you forget ()?");
      }
    }
    toJSON() {
      const permissions = {};
      for (const p of Object.keys(this.permissionsById)) permissions[p] = this.permissionsById[p];
      return permissions;
    }
    equals(other) {
      if (!(other instanceof ParseACL)) return false;
      const users = Object.keys(this.permissionsById);
      if (users.length !== Object.keys(other.permissionsById).length) return false;
      for (const u of users) {
        const mine = this.permissionsById[u];
        const theirs = other.permissionsById[u];
        if (!theirs || mine.read !== theirs.read || mine.write !== theirs.write) return false;
      }
      return true;
    }
    _setAccess(accessType, userId, allowed) {
      userId = aclKey(userId, false);
      if (typeof userId !== "string") throw new TypeError("userId must be a string.");
      if (typeof allowed !== "boolean") throw new TypeError("allowed must be either true or false.");
      let permissions = this.permissionsById[userId];
      if (!permissions) {
        if (!allowed) return;
        permissions = {};
        this.permissionsById[userId] = permissions;
      }
      if (allowed) {
        permissions[accessType] = true;
      } else {
        delete permissions[accessType];
        if (Object.keys(permissions).length === 0) delete this.permissionsById[userId];
      }
    }
    _getAccess(accessType, userId) {
      userId = aclKey(userId, true);
      const permissions = this.permissionsById[userId];
      return !!(permissions && permissions[accessType]);
    }
    setReadAccess(userId, allowed) {
      this._setAccess("read", userId, allowed);
    }
    getReadAccess(userId) {
      return this._getAccess("read", userId);
    }
    setWriteAccess(userId, allowed) {
      this._setAccess("write", userId, allowed);
    }
    getWriteAccess(userId) {
      return this._getAccess("write", userId);
    }
    setPublicReadAccess(allowed) {
      this.setReadAccess(PUBLIC_KEY, allowed);
    }
    getPublicReadAccess() {
      return this.getReadAccess(PUBLIC_KEY);
    }
    setPublicWriteAccess(allowed) {
      this.setWriteAccess(PUBLIC_KEY, allowed);
    }
    getPublicWriteAccess() {
      return this.getWriteAccess(PUBLIC_KEY);
    }
    getRoleReadAccess(role) {
      return this.getReadAccess("role:" + roleName(role));
    }
    getRoleWriteAccess(role) {
      return this.getWriteAccess("role:" + roleName(role));
    }
    setRoleReadAccess(role, allowed) {
      this.setReadAccess("role:" + roleName(role), allowed);
    }
    setRoleWriteAccess(role, allowed) {
      this.setWriteAccess("role:" + roleName(role), allowed);
    }
  }

  globalThis.Parse.ACL = ParseACL;

  Object.assign(sdk, {
    ParseACL,
  });
})(globalThis);
