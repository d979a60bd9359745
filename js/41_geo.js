// Parse.GeoPoint and Parse.Polygon.
// Part of cloud code's SDK layer (split from one file along its seams); each part takes what
// it needs from the shared `sdk` namespace and adds its exports to it explicitly at the end.
"use strict";

((globalThis) => {
  const internals = globalThis.__cloudrtInternals;
  const sdk = internals.sdk;
  const Parse = globalThis.Parse;
  const ParseError = globalThis.Parse.Error;

  class ParseGeoPoint {
    constructor(arg1, arg2) {
      if (Array.isArray(arg1)) {
        ParseGeoPoint._validate(arg1[0], arg1[1]);
        this._latitude = arg1[0];
        this._longitude = arg1[1];
      } else if (arg1 && typeof arg1 === "object") {
        ParseGeoPoint._validate(arg1.latitude, arg1.longitude);
        this._latitude = arg1.latitude;
        this._longitude = arg1.longitude;
      } else if (arg1 !== undefined && arg2 !== undefined) {
        ParseGeoPoint._validate(arg1, arg2);
        this._latitude = arg1;
        this._longitude = arg2;
      } else {
        this._latitude = 0;
        this._longitude = 0;
      }
    }
    get latitude() {
      return this._latitude;
    }
    set latitude(value) {
      ParseGeoPoint._validate(value, this.longitude);
      this._latitude = value;
    }
    get longitude() {
      return this._longitude;
    }
    set longitude(value) {
      ParseGeoPoint._validate(this.latitude, value);
      this._longitude = value;
    }
    toJSON() {
      ParseGeoPoint._validate(this._latitude, this._longitude);
      return { __type: "GeoPoint", latitude: this._latitude, longitude: this._longitude };
    }
    equals(other) {
      return other instanceof ParseGeoPoint && this.latitude === other.latitude &&
        this.longitude === other.longitude;
    }
    radiansTo(point) {
      const d2r = Math.PI / 180.0;
      const lat1rad = this.latitude * d2r;
      const long1rad = this.longitude * d2r;
      const lat2rad = point.latitude * d2r;
      const long2rad = point.longitude * d2r;
      const sinDeltaLatDiv2 = Math.sin((lat1rad - lat2rad) / 2);
      const sinDeltaLongDiv2 = Math.sin((long1rad - long2rad) / 2);
      let a = sinDeltaLatDiv2 * sinDeltaLatDiv2 +
        Math.cos(lat1rad) * Math.cos(lat2rad) * sinDeltaLongDiv2 * sinDeltaLongDiv2;
      a = Math.min(1.0, a);
      return 2 * Math.asin(Math.sqrt(a));
    }
    kilometersTo(point) {
      return this.radiansTo(point) * 6371.0;
    }
    milesTo(point) {
      return this.radiansTo(point) * 3958.8;
    }
    static _validate(latitude, longitude) {
      if (typeof latitude !== "number" || typeof longitude !== "number" ||
          isNaN(latitude) || isNaN(longitude)) {
        throw new TypeError("GeoPoint latitude and longitude must be valid numbers");
      }
      if (latitude < -90.0) throw new TypeError("GeoPoint latitude out of bounds: " + latitude + " < -90.0.");
      if (latitude > 90.0) throw new TypeError("GeoPoint latitude out of bounds: " + latitude + " > 90.0.");
      if (longitude < -180.0) throw new TypeError("GeoPoint longitude out of bounds: " + longitude + " < -180.0.");
      if (longitude > 180.0) throw new TypeError("GeoPoint longitude out of bounds: " + longitude + " > 180.0.");
    }
    static current() {
      return Promise.reject(new ParseError(ParseError.OTHER_CAUSE, "Parse.GeoPoint.current() is not available on the server"));
    }
  }

  class ParsePolygon {
    constructor(coordinates) {
      this._coordinates = ParsePolygon._validate(coordinates);
    }
    get coordinates() {
      return this._coordinates;
    }
    set coordinates(coords) {
      this._coordinates = ParsePolygon._validate(coords);
    }
    toJSON() {
      ParsePolygon._validate(this._coordinates);
      return { __type: "Polygon", coordinates: this._coordinates };
    }
    equals(other) {
      if (!(other instanceof ParsePolygon) || this.coordinates.length !== other.coordinates.length) {
        return false;
      }
      for (let i = 0; i < this._coordinates.length; i++) {
        if (this._coordinates[i][0] !== other.coordinates[i][0] ||
            this._coordinates[i][1] !== other.coordinates[i][1]) {
          return false;
        }
      }
      return true;
    }
    containsPoint(point) {
      const coords = this._coordinates;
      let minX = coords[0][0];
      let maxX = coords[0][0];
      let minY = coords[0][1];
      let maxY = coords[0][1];
      for (const p of coords) {
        minX = Math.min(p[0], minX);
        maxX = Math.max(p[0], maxX);
        minY = Math.min(p[1], minY);
        maxY = Math.max(p[1], maxY);
      }
      if (point.latitude < minX || point.latitude > maxX || point.longitude < minY || point.longitude > maxY) {
        return false;
      }
      let inside = false;
      for (let i = 0, j = coords.length - 1; i < coords.length; j = i++) {
        const [startX, startY] = coords[i];
        const [endX, endY] = coords[j];
        const intersect = (startY > point.longitude) !== (endY > point.longitude) &&
          point.latitude < ((endX - startX) * (point.longitude - startY)) / (endY - startY) + startX;
        if (intersect) inside = !inside;
      }
      return inside;
    }
    static _validate(coords) {
      if (!Array.isArray(coords)) throw new TypeError("Coordinates must be an Array");
      if (coords.length < 3) throw new TypeError("Polygon must have at least 3 GeoPoints or Points");
      return coords.map((coord) => {
        let point;
        if (coord instanceof ParseGeoPoint) point = coord;
        else if (Array.isArray(coord) && coord.length === 2) point = new ParseGeoPoint(coord[0], coord[1]);
        else throw new TypeError("Coordinates must be an Array of GeoPoints or Points");
        return [point.latitude, point.longitude];
      });
    }
  }

  Object.assign(Parse, { GeoPoint: ParseGeoPoint, Polygon: ParsePolygon });

  Object.assign(sdk, {
    ParseGeoPoint,
    ParsePolygon,
  });
})(globalThis);
