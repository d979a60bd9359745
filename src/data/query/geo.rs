//! GeoPoint queries: `$nearSphere` (with its distance limits and the distance order Parse
//! Server applies), `$within`/`$box`, `$geoWithin` (`$polygon`, `$centerSphere`) and
//! `$geoIntersects`, compiled from their operands and tested on stored GeoPoints and Polygons.

use serde_json::{Map, Value};

use super::{bad_json, find_in_conjuncts, invalid, lookup, type_name, Cond, FieldNode, Query, QueryError};

/// Earth radii Parse Server divides by to turn `$maxDistanceInKilometers`/`InMiles` into
/// radians; the same constants keep our answers identical to theirs at the boundary.
const EARTH_RADIUS_KM: f64 = 6371.0;
const EARTH_RADIUS_MILES: f64 = 3958.8;

impl Query {
    /// The `$nearSphere` constraint of the where-clause, as `(field, latitude, longitude)`. Parse
    /// Server sorts such results by distance when no explicit `order` is given; the caller can do
    /// the same with [`Query::near_distance`].
    pub fn near_sphere(&self) -> Option<(String, f64, f64)> {
        self.near_field().and_then(|field| {
            field.conds.iter().find_map(|cond| match cond {
                Cond::Near { lat, lng, .. } => Some((field.key.clone(), *lat, *lng)),
                _ => None,
            })
        })
    }

    /// Distance in radians from the `$nearSphere` point to `object`'s GeoPoint, the sort key for
    /// a `$nearSphere` query; `None` without `$nearSphere` or when the object has no GeoPoint
    /// there.
    pub fn near_distance(&self, object: &Map<String, Value>) -> Option<f64> {
        let field = self.near_field()?;
        let (lat, lng) = field.conds.iter().find_map(|cond| match cond {
            Cond::Near { lat, lng, .. } => Some((*lat, *lng)),
            _ => None,
        })?;
        let (point_lat, point_lng) = geopoint_of(lookup(object, &field.path)?)?;
        Some(central_angle(lat, lng, point_lat, point_lng))
    }

    fn near_field(&self) -> Option<&FieldNode> {
        find_in_conjuncts(&self.root, &|field| {
            field.conds.iter().any(|cond| matches!(cond, Cond::Near { .. })).then_some(field)
        })
    }
}

pub(super) fn near_sphere(key: &str, operand: &Value, constraints: &Map<String, Value>) -> Result<Cond, QueryError> {
    let (lat, lng) = geopoint_operand(key, "$nearSphere", operand)?;
    let limits = [
        ("$maxDistance", 1.0),
        ("$maxDistanceInRadians", 1.0),
        ("$maxDistanceInKilometers", EARTH_RADIUS_KM),
        ("$maxDistanceInMiles", EARTH_RADIUS_MILES),
    ];
    let mut max_radians = None;
    for (name, radius) in limits {
        let Some(value) = constraints.get(name) else { continue };
        if max_radians.is_some() {
            return invalid(format!("$nearSphere on {key:?} takes only one $maxDistance* limit"));
        }
        match value.as_f64() {
            Some(distance) if distance >= 0.0 => max_radians = Some(distance / radius),
            _ => return invalid(format!("{name} on {key:?} must be a non-negative number")),
        }
    }
    Ok(Cond::Near { lat, lng, max_radians })
}

pub(super) fn within_box(key: &str, operand: &Value) -> Result<Cond, QueryError> {
    let corners = match operand {
        Value::Object(spec) if spec.len() == 1 => match spec.get("$box") {
            Some(Value::Array(corners)) if corners.len() == 2 => corners,
            _ => return invalid(format!("$within on {key:?} needs {{\"$box\": [<southwest>, <northeast>]}}")),
        },
        _ => return invalid(format!("$within on {key:?} needs {{\"$box\": [<southwest>, <northeast>]}}")),
    };
    let (south, west) = geopoint_operand(key, "$box", &corners[0])?;
    let (north, east) = geopoint_operand(key, "$box", &corners[1])?;
    Ok(Cond::WithinBox { south: south.min(north), west: west.min(east), north: south.max(north), east: west.max(east) })
}

pub(super) fn geo_within(key: &str, operand: &Value) -> Result<Cond, QueryError> {
    let usage = || {
        format!("$geoWithin on {key:?} needs {{\"$polygon\": [...]}} or {{\"$centerSphere\": [[lng, lat], radians]}}")
    };
    let Value::Object(spec) = operand else { return invalid(usage()) };
    if spec.len() != 1 {
        return invalid(usage());
    }
    if let Some(polygon) = spec.get("$polygon") {
        // Parse Server's quirk, kept for compatibility: bare pairs in a `$polygon` array are
        // [longitude, latitude] while a Polygon object's coordinates are [latitude, longitude].
        let (points, pairs_are_lng_lat) = match polygon {
            Value::Array(points) => (points, true),
            Value::Object(map) if map.get("__type").and_then(Value::as_str) == Some("Polygon") => {
                match map.get("coordinates") {
                    Some(Value::Array(points)) => (points, false),
                    _ => return bad_json(format!("bad $geoWithin value on {key:?}; $polygon Polygon needs coordinates")),
                }
            }
            _ => return bad_json(format!("bad $geoWithin value on {key:?}; $polygon should be Polygon object or Array of Parse.GeoPoint's")),
        };
        if points.len() < 3 {
            return bad_json(format!("bad $geoWithin value on {key:?}; $polygon should contain at least 3 GeoPoints"));
        }
        let vertices = points
            .iter()
            .map(|point| match point {
                Value::Array(pair) => match (pair.as_slice(), pairs_are_lng_lat) {
                    ([lng, lat], true) | ([lat, lng], false) => {
                        checked_point(key, "$polygon", lat.as_f64(), lng.as_f64())
                    }
                    _ => bad_json(format!("bad $geoWithin value on {key:?}; $polygon points are pairs or GeoPoints")),
                },
                Value::Object(_) => geopoint_operand(key, "$polygon", point),
                _ => bad_json(format!("bad $geoWithin value on {key:?}; $polygon points are pairs or GeoPoints")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Cond::WithinPolygon(vertices));
    }
    if let Some(sphere) = spec.get("$centerSphere") {
        let (center, distance) = match sphere {
            Value::Array(parts) if parts.len() == 2 => (&parts[0], &parts[1]),
            _ => return invalid(format!("bad $centerSphere on {key:?}: needs [[lng, lat], radians]")),
        };
        let (lat, lng) = match center {
            Value::Array(pair) => match pair.as_slice() {
                [lng, lat] => checked_point(key, "$centerSphere", lat.as_f64(), lng.as_f64())?,
                _ => return invalid(format!("bad $centerSphere on {key:?}: center must be [lng, lat]")),
            },
            _ => geopoint_operand(key, "$centerSphere", center)?,
        };
        let radians = match distance.as_f64() {
            Some(radians) if radians >= 0.0 => radians,
            _ => return invalid(format!("bad $centerSphere on {key:?}: distance must be a non-negative number")),
        };
        return Ok(Cond::WithinSphere { lat, lng, radians });
    }
    invalid(usage())
}

pub(super) fn geo_intersects(key: &str, operand: &Value) -> Result<Cond, QueryError> {
    match operand {
        Value::Object(spec) if spec.len() == 1 && spec.contains_key("$point") => {
            let (lat, lng) = geopoint_operand(key, "$geoIntersects", &spec["$point"])?;
            Ok(Cond::Intersects { lat, lng })
        }
        _ => invalid(format!("$geoIntersects on {key:?} needs {{\"$point\": <GeoPoint>}}")),
    }
}

/// A GeoPoint given in a query: `{"__type": "GeoPoint", "latitude": .., "longitude": ..}`
/// (the `__type` may be left out), returned as `(latitude, longitude)`.
fn geopoint_operand(key: &str, op: &str, value: &Value) -> Result<(f64, f64), QueryError> {
    let Value::Object(map) = value else {
        return invalid(format!("{op} on {key:?} needs a GeoPoint, got {}", type_name(value)));
    };
    if map.get("__type").is_some_and(|t| t != "GeoPoint") {
        return invalid(format!("{op} on {key:?} needs a GeoPoint"));
    }
    let coordinate = |name| map.get(name).and_then(Value::as_f64);
    checked_point(key, op, coordinate("latitude"), coordinate("longitude"))
}

fn checked_point(key: &str, op: &str, lat: Option<f64>, lng: Option<f64>) -> Result<(f64, f64), QueryError> {
    match (lat, lng) {
        (Some(lat), Some(lng)) if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lng) => Ok((lat, lng)),
        (Some(_), Some(_)) => {
            invalid(format!("{op} on {key:?}: latitude must be within [-90, 90] and longitude within [-180, 180]"))
        }
        _ => invalid(format!("{op} on {key:?} needs numeric latitude and longitude")),
    }
}

/// A stored GeoPoint as `(latitude, longitude)`.
pub(super) fn geopoint_of(value: &Value) -> Option<(f64, f64)> {
    let map = value.as_object()?;
    if map.get("__type")?.as_str()? != "GeoPoint" {
        return None;
    }
    Some((map.get("latitude")?.as_f64()?, map.get("longitude")?.as_f64()?))
}

/// Great-circle distance in radians (haversine), the unit MongoDB's `$nearSphere` works in.
pub(super) fn central_angle(lat1: f64, lng1: f64, lat2: f64, lng2: f64) -> f64 {
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let half_dphi = (phi2 - phi1) / 2.0;
    let half_dlambda = (lng2 - lng1).to_radians() / 2.0;
    let a = half_dphi.sin().powi(2) + phi1.cos() * phi2.cos() * half_dlambda.sin().powi(2);
    2.0 * a.sqrt().min(1.0).asin()
}

/// Even-odd ray casting on the flat (latitude, longitude) plane, as MongoDB's legacy `$polygon`;
/// points on an edge count as inside. `vertex(i)` yields `(latitude, longitude)` so stored
/// polygons can be read straight out of their JSON; one malformed vertex makes the polygon
/// contain nothing, rather than an answer that depends on where the bad vertex sits.
pub(super) fn point_in_polygon(len: usize, vertex: impl Fn(usize) -> Option<(f64, f64)>, lat: f64, lng: f64) -> bool {
    if len < 3 || (0..len).any(|i| vertex(i).is_none()) {
        return false;
    }
    let mut inside = false;
    let mut previous = len - 1;
    for current in 0..len {
        let (Some((lat_i, lng_i)), Some((lat_j, lng_j))) = (vertex(current), vertex(previous)) else {
            return false;
        };
        let cross = (lng_j - lng_i) * (lat - lat_i) - (lat_j - lat_i) * (lng - lng_i);
        let within_edge_bounds =
            lat >= lat_i.min(lat_j) && lat <= lat_i.max(lat_j) && lng >= lng_i.min(lng_j) && lng <= lng_i.max(lng_j);
        if cross.abs() < 1e-12 && within_edge_bounds {
            return true;
        }
        if (lat_i > lat) != (lat_j > lat) && lng < (lng_j - lng_i) * (lat - lat_i) / (lat_j - lat_i) + lng_i {
            inside = !inside;
        }
        previous = current;
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use crate::data::query::tests::{check_table, fixture, json_of, object};

    const LONDON: &str = r#"{"__type": "GeoPoint", "latitude": 51.5074, "longitude": -0.1278}"#;

    #[test]
    fn geo_queries() {
        // Paris–London is about 343.5 km = 213.4 miles = 0.0539 radians.
        let near = |extra: &str| format!(r#"{{"location": {{"$nearSphere": {LONDON}{extra}}}}}"#);
        let cases = [
            near(""),
            near(r#", "$maxDistanceInKilometers": 400"#),
            near(r#", "$maxDistanceInKilometers": 300"#),
            near(r#", "$maxDistanceInMiles": 220"#),
            near(r#", "$maxDistanceInMiles": 200"#),
            near(r#", "$maxDistance": 0.06"#),
            near(r#", "$maxDistanceInRadians": 0.05"#),
            format!(r#"{{"name": {{"$nearSphere": {LONDON}}}}}"#),
        ];
        let expected = [true, true, false, true, false, true, false, false];
        let table: Vec<(&str, bool)> = cases.iter().map(String::as_str).zip(expected).collect();
        check_table(&table);
        check_table(&[
            (
                r#"{"location": {"$within": {"$box": [{"__type": "GeoPoint", "latitude": 48, "longitude": 2},
                                                    {"__type": "GeoPoint", "latitude": 49, "longitude": 3}]}}}"#,
                true,
            ),
            (
                r#"{"location": {"$within": {"$box": [{"__type": "GeoPoint", "latitude": 48, "longitude": 3},
                                                    {"__type": "GeoPoint", "latitude": 49, "longitude": 4}]}}}"#,
                false,
            ),
            (
                r#"{"location": {"$geoWithin": {"$polygon": [
                    {"__type": "GeoPoint", "latitude": 48, "longitude": 2},
                    {"__type": "GeoPoint", "latitude": 49, "longitude": 2},
                    {"__type": "GeoPoint", "latitude": 49, "longitude": 3},
                    {"__type": "GeoPoint", "latitude": 48, "longitude": 3}]}}}"#,
                true,
            ),
            (r#"{"location": {"$geoWithin": {"$polygon": [[2, 48], [2, 49], [3, 49], [3, 48]]}}}"#, true),
            (r#"{"location": {"$geoWithin": {"$polygon": [[0, 0], [0, 1], [1, 1]]}}}"#, false),
            (
                r#"{"location": {"$geoWithin": {"$polygon": {"__type": "Polygon",
                    "coordinates": [[48, 2], [49, 2], [49, 3], [48, 3]]}}}}"#,
                true,
            ),
            (r#"{"location": {"$geoWithin": {"$centerSphere": [[-0.1278, 51.5074], 0.06]}}}"#, true),
            (r#"{"location": {"$geoWithin": {"$centerSphere": [[-0.1278, 51.5074], 0.05]}}}"#, false),
            (
                r#"{"location": {"$geoWithin": {"$centerSphere": [
                    {"__type": "GeoPoint", "latitude": 51.5074, "longitude": -0.1278}, 0.06]}}}"#,
                true,
            ),
            (r#"{"name": {"$geoWithin": {"$centerSphere": [[0, 0], 3.2]}}}"#, false),
            (
                r#"{"area": {"$geoIntersects": {"$point": {"__type": "GeoPoint", "latitude": 5, "longitude": 5}}}}"#,
                true,
            ),
            (
                r#"{"area": {"$geoIntersects": {"$point": {"__type": "GeoPoint", "latitude": 5, "longitude": 11}}}}"#,
                false,
            ),
            (
                r#"{"area": {"$geoIntersects": {"$point": {"__type": "GeoPoint", "latitude": 10, "longitude": 5}}}}"#,
                true,
            ),
            (
                r#"{"location": {"$geoIntersects": {"$point": {"__type": "GeoPoint", "latitude": 5, "longitude": 5}}}}"#,
                false,
            ),
        ]);
    }

    #[test]
    fn near_sphere_is_exposed_for_sorting() {
        let query = Query::parse(&json_of(&format!(r#"{{"location": {{"$nearSphere": {LONDON}}}}}"#))).unwrap();
        assert_eq!(query.near_sphere(), Some(("location".to_string(), 51.5074, -0.1278)));
        let distance = query.near_distance(&fixture()).unwrap();
        assert!((distance - 343.5 / EARTH_RADIUS_KM).abs() < 0.001, "distance {distance}");
        assert_eq!(query.near_distance(&object(json!({"location": "nowhere"}))), None);

        let in_and = json_of(&format!(r#"{{"$and": [{{"location": {{"$nearSphere": {LONDON}}}}}]}}"#));
        assert!(Query::parse(&in_and).unwrap().near_sphere().is_some());
        let in_or = json_of(&format!(r#"{{"$or": [{{"location": {{"$nearSphere": {LONDON}}}}}]}}"#));
        assert_eq!(Query::parse(&in_or).unwrap().near_sphere(), None);
        let plain = Query::parse(&json!({"name": "Alice"})).unwrap();
        assert_eq!(plain.near_sphere(), None);
        assert_eq!(plain.near_distance(&fixture()), None);
    }

    #[test]
    fn geometry_helpers() {
        assert!((central_angle(0.0, 0.0, 0.0, 180.0) - std::f64::consts::PI).abs() < 1e-12);
        assert_eq!(central_angle(10.0, 20.0, 10.0, 20.0), 0.0);
        let square = [(0.0, 0.0), (0.0, 10.0), (10.0, 10.0), (10.0, 0.0)];
        let vertex = |i: usize| Some(square[i]);
        assert!(point_in_polygon(4, vertex, 5.0, 5.0));
        assert!(point_in_polygon(4, vertex, 0.0, 0.0));
        assert!(point_in_polygon(4, vertex, 0.0, 5.0));
        assert!(!point_in_polygon(4, vertex, -0.1, 5.0));
        assert!(!point_in_polygon(2, vertex, 0.0, 0.0));
    }
}
