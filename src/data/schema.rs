//! Class schemas: legal class and field names, the Parse type a REST value implies, and
//! Parse's "the first write decides a field's type" rule.
//!
//! Parse apps do not declare schemas up front. Saving `{"score": 3}` to a new field makes it
//! a Number field, and from then on saving a string there is an error (111). This module
//! holds that rule so every write path enforces it the same way.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::acl::Acl;
use super::clp::ClassPermissions;
use super::ids::millis_from_iso;
use super::field_ops::Op;
use super::DataError;

/// Classes Parse Server itself defines. Their names start with `_`, which user classes may
/// not, so they are accepted by name.
pub const SYSTEM_CLASSES: &[&str] = &[
    "_User",
    "_Installation",
    "_Role",
    "_Session",
    "_Product",
    "_PushStatus",
    "_JobStatus",
    "_JobSchedule",
    "_Audience",
    "_Idempotency",
    "_Hooks",
    "_GlobalConfig",
    "_GraphQLConfig",
];

/// Fields every object has: the server's own and the ACL. `keys=` never drops them, and no
/// CLP may protect them (Parse Server's default fields).
pub const DEFAULT_FIELDS: &[&str] = &["objectId", "createdAt", "updatedAt", "ACL"];

/// The default fields the server sets itself: a client's body never sets them, so
/// `check_and_extend` skips them (their types are fixed by the defaults anyway).
pub const SERVER_OWNED_FIELDS: &[&str] = DEFAULT_FIELDS.split_at(3).0;

/// Whether a body's `key` is never a field to write: a server-owned one, or the REST
/// encoding's echo of an object (`className`, `__type`).
pub fn is_server_kept(key: &str) -> bool {
    SERVER_OWNED_FIELDS.contains(&key) || key == "className" || key == "__type"
}

/// Longest class or field name (Parse Server on MongoDB is bounded by its index key size).
/// Names travel in every stored object and every answer, so an unbounded one is a cheap way to
/// make each of them huge.
pub const MAX_NAME_LEN: usize = 128;

/// Most segments a dotted key (`"a.b.c"`) may have. Each segment is one level of nesting in
/// the stored object, and what is stored must stay within [`super::field_ops::MAX_VALUE_DEPTH`].
pub const MAX_PATH_SEGMENTS: usize = 32;

/// Most fields one class may have; a write that would add more is refused and the schema is
/// left as it was. Every field costs a schema entry that is loaded and checked on each write.
pub const MAX_FIELDS_PER_CLASS: usize = 500;

/// Longest objectId a Pointer or Relation may name (ours are 10 characters).
pub const MAX_OBJECT_ID_LEN: usize = 128;

/// `^[A-Za-z][A-Za-z0-9_]*$`, the shape Parse requires of class and field names.
fn is_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Accepts Parse's system classes and names matching `^[A-Za-z][A-Za-z0-9_]*$`; anything
/// else is 103.
pub fn validate_class_name(name: &str) -> Result<(), DataError> {
    if name.len() > MAX_NAME_LEN {
        return Err(DataError::ClassNameTooLong(abbreviated(name)));
    }
    if SYSTEM_CLASSES.contains(&name) || is_identifier(name) {
        Ok(())
    } else {
        Err(DataError::InvalidClassName(name.to_owned()))
    }
}

/// A name short enough to quote in an error message: a megabyte-long name must not come back
/// in full in the answer that refuses it.
fn abbreviated(name: &str) -> String {
    match name.char_indices().nth(32) {
        Some((end, _)) => format!("{}…", &name[..end]),
        None => name.to_owned(),
    }
}

/// Accepts the objectId a Pointer or Relation names: 1 to [`MAX_OBJECT_ID_LEN`] characters,
/// none of them control characters (relation keys in the store use NUL as a separator, and a
/// NUL or newline inside an id would let one relation's entries be read as another's, or
/// garble logs). Anything else is 106.
pub fn validate_object_id(id: &str) -> Result<(), DataError> {
    let problem = if id.is_empty() {
        "is empty"
    } else if id.len() > MAX_OBJECT_ID_LEN {
        "is too long"
    } else if id.chars().any(char::is_control) {
        "contains a control character"
    } else {
        return Ok(());
    };
    Err(DataError::InvalidObjectId { id: abbreviated(id), problem })
}

/// Accepts a top-level field name matching `^[A-Za-z][A-Za-z0-9_]*$`, except `length`,
/// which Parse Server reserves (it breaks JavaScript code that treats objects as
/// array-likes); anything else is 105.
pub fn validate_field_name(name: &str) -> Result<(), DataError> {
    if name.len() > MAX_NAME_LEN {
        return Err(name_too_long(name));
    }
    if is_identifier(name) && name != "length" {
        Ok(())
    } else {
        Err(invalid_field_name(name))
    }
}

/// Accepts a possibly dotted key (`"address.city"`, `"scores.0"`) addressing a value inside
/// an Object or Array field: the first segment must be a valid field name, and each later
/// one an identifier or an array index. Anything else is 105, naming the whole path.
pub fn validate_field_path(path: &str) -> Result<(), DataError> {
    if path.split('.').count() > MAX_PATH_SEGMENTS {
        return Err(DataError::FieldPathTooDeep(abbreviated(path)));
    }
    if path.split('.').any(|segment| segment.len() > MAX_NAME_LEN) {
        return Err(name_too_long(path));
    }
    let mut segments = path.split('.');
    let field = segments.next().unwrap_or_default();
    let nested_ok = |segment: &str| {
        is_identifier(segment) || (!segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()))
    };
    if validate_field_name(field).is_ok() && segments.all(nested_ok) {
        Ok(())
    } else {
        Err(invalid_field_name(path))
    }
}

/// Field-name rules that depend on the class: Parse reserves `className` everywhere except
/// in `_Hooks`, whose objects describe triggers on a class.
fn validate_field_name_in(class_name: &str, name: &str) -> Result<(), DataError> {
    if name == "className" && class_name != "_Hooks" {
        return Err(invalid_field_name(name));
    }
    validate_field_name(name)
}

fn name_too_long(name: &str) -> DataError {
    DataError::FieldNameTooLong(abbreviated(name))
}

fn invalid_field_name(name: &str) -> DataError {
    DataError::InvalidFieldName(name.to_owned())
}

/// The type of a class field, as Parse's schema API names them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FieldType {
    String,
    Number,
    Boolean,
    Date,
    Object,
    Array,
    /// A pointer to an object of the named class.
    Pointer(String),
    /// A many-to-many relation to objects of the named class.
    Relation(String),
    GeoPoint,
    File,
    Bytes,
    Polygon,
    /// Spelled as Parse's type string so the variant and the wire name match.
    #[allow(clippy::upper_case_acronyms)]
    ACL,
}

impl FieldType {
    /// Parse's name for the type (`"Pointer"`, not `"Pointer<_User>"`).
    pub fn name(&self) -> &'static str {
        match self {
            FieldType::String => "String",
            FieldType::Number => "Number",
            FieldType::Boolean => "Boolean",
            FieldType::Date => "Date",
            FieldType::Object => "Object",
            FieldType::Array => "Array",
            FieldType::Pointer(_) => "Pointer",
            FieldType::Relation(_) => "Relation",
            FieldType::GeoPoint => "GeoPoint",
            FieldType::File => "File",
            FieldType::Bytes => "Bytes",
            FieldType::Polygon => "Polygon",
            FieldType::ACL => "ACL",
        }
    }

    /// The class a Pointer or Relation field points to.
    pub fn target_class(&self) -> Option<&str> {
        match self {
            FieldType::Pointer(class) | FieldType::Relation(class) => Some(class),
            _ => None,
        }
    }

    /// The schema-API form: `{"type":"String"}`, `{"type":"Pointer","targetClass":"_User"}`.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("type".to_owned(), Value::from(self.name()));
        if let Some(class) = self.target_class() {
            out.insert("targetClass".to_owned(), Value::from(class));
        }
        Value::Object(out)
    }

    /// Reads the schema-API form, with Parse Server's error codes: 107 for a non-object or
    /// non-string `type`/`targetClass`, 111 for an unknown type, 135 for a Pointer or Relation
    /// without `targetClass`, 103 for an invalid target class. Field options Parse also allows
    /// here (`required`, `defaultValue`) are ignored.
    pub fn from_json(value: &Value) -> Result<FieldType, DataError> {
        let invalid_json = || DataError::InvalidSchema("invalid JSON".to_owned());
        let field = value.as_object().ok_or_else(invalid_json)?;
        let name = field.get("type").and_then(Value::as_str).ok_or_else(invalid_json)?;
        let target_class = || -> Result<String, DataError> {
            let class = match field.get("targetClass") {
                None | Some(Value::Null) => {
                    return Err(DataError::MissingTargetClass(name.to_owned()))
                }
                Some(Value::String(class)) => class,
                Some(_) => return Err(invalid_json()),
            };
            validate_class_name(class)?;
            Ok(class.clone())
        };
        Ok(match name {
            "String" => FieldType::String,
            "Number" => FieldType::Number,
            "Boolean" => FieldType::Boolean,
            "Date" => FieldType::Date,
            "Object" => FieldType::Object,
            "Array" => FieldType::Array,
            "Pointer" => FieldType::Pointer(target_class()?),
            "Relation" => FieldType::Relation(target_class()?),
            "GeoPoint" => FieldType::GeoPoint,
            "File" => FieldType::File,
            "Bytes" => FieldType::Bytes,
            "Polygon" => FieldType::Polygon,
            "ACL" => FieldType::ACL,
            other => {
                return Err(DataError::InvalidFieldType(other.to_owned()))
            }
        })
    }
}

/// Parse's way of writing a type in error messages: `Number`, `Pointer<_User>`.
impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.target_class() {
            Some(class) => write!(f, "{}<{class}>", self.name()),
            None => f.write_str(self.name()),
        }
    }
}

impl Serialize for FieldType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for FieldType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        FieldType::from_json(&value).map_err(serde::de::Error::custom)
    }
}

/// The Parse type a REST value implies, or `None` when it implies none (`null`, `Delete`,
/// relation ops with no pointers).
///
/// `{"__type": ...}` values must be well formed: 111 "This is not a valid X" for a missing
/// or wrong-typed member and for unknown `__type`s (including `"Object"`: full objects are
/// not storable values, pointers are), 106 for a Pointer without a string `objectId`, 103 for
/// a Pointer or Relation to an invalid class name, 107 for a Polygon with fewer than three
/// points. Operations get their type from [`Op::field_type`]; a malformed or unknown `__op`
/// is 107, as with every malformed operation (see `ops`).
pub fn type_of_value(value: &Value) -> Result<Option<FieldType>, DataError> {
    Ok(Some(match value {
        Value::Null => return Ok(None),
        Value::Bool(_) => FieldType::Boolean,
        Value::Number(_) => FieldType::Number,
        Value::String(_) => FieldType::String,
        Value::Array(_) => FieldType::Array,
        Value::Object(object) => match object.get("__type") {
            None | Some(Value::Null) => match Op::parse(value)? {
                Some(op) => return op.field_type(),
                None => FieldType::Object,
            },
            Some(type_name) => typed_value_type(object, type_name)?,
        },
    }))
}

fn typed_value_type(object: &Map<String, Value>, type_name: &Value) -> Result<FieldType, DataError> {
    let not_valid = || {
        let name = type_name.as_str().map_or_else(|| type_name.to_string(), str::to_owned);
        DataError::InvalidTypedValue(name)
    };
    let non_empty_str = |key: &str| object.get(key).and_then(Value::as_str).filter(|s| !s.is_empty());
    let class_name = || -> Result<String, DataError> {
        let class = non_empty_str("className").ok_or_else(not_valid)?;
        validate_class_name(class)?;
        Ok(class.to_owned())
    };
    match type_name.as_str().ok_or_else(not_valid)? {
        "Pointer" => {
            let class = class_name()?;
            let Some(id) = object.get("objectId").and_then(Value::as_str) else {
                return Err(DataError::PointerIdNotString(class));
            };
            validate_object_id(id)?;
            Ok(FieldType::Pointer(class))
        }
        "Relation" => Ok(FieldType::Relation(class_name()?)),
        "File" => non_empty_str("name").map(|_| FieldType::File).ok_or_else(not_valid),
        "Bytes" => non_empty_str("base64").map(|_| FieldType::Bytes).ok_or_else(not_valid),
        // A Date that does not parse would sort and compare as garbage forever after.
        "Date" => {
            non_empty_str("iso").and_then(millis_from_iso).map(|_| FieldType::Date).ok_or_else(not_valid)
        }
        "GeoPoint" => {
            let coordinate = |key: &str| object.get(key).and_then(Value::as_f64);
            let (Some(latitude), Some(longitude)) = (coordinate("latitude"), coordinate("longitude")) else {
                return Err(not_valid());
            };
            if !(-90.0..=90.0).contains(&latitude) {
                return Err(DataError::LatitudeOutOfBounds(latitude));
            }
            if !(-180.0..=180.0).contains(&longitude) {
                return Err(DataError::LongitudeOutOfBounds(longitude));
            }
            Ok(FieldType::GeoPoint)
        }
        "Polygon" => {
            let Some(Value::Array(points)) = object.get("coordinates") else {
                return Err(not_valid());
            };
            let is_point = |point: &Value| {
                point.as_array().is_some_and(|pair| pair.len() == 2 && pair.iter().all(Value::is_number))
            };
            if !points.iter().all(is_point) {
                return Err(not_valid());
            }
            if points.len() < 3 {
                return Err(DataError::PolygonTooSmall);
            }
            Ok(FieldType::Polygon)
        }
        _ => Err(not_valid()),
    }
}

/// Closes a Polygon's ring (its last point repeats the first), as Parse Server stores every
/// polygon, whether it was saved open or closed; a query's polygon is closed the same way so
/// that `equalTo` matches either form. Values that are no well-formed Polygon, and polygons of
/// fewer than three points (which closing would pad to three), are left as they are, for
/// [`type_of_value`] to refuse.
pub fn close_polygon_ring(value: &mut Value) {
    if value.get("__type").and_then(Value::as_str) != Some("Polygon") {
        return;
    }
    let Some(Value::Array(points)) = value.get_mut("coordinates") else { return };
    if points.len() < 3 {
        return;
    }
    if let (Some(first), Some(last)) = (points.first(), points.last()) {
        if first.as_array().is_some_and(|pair| pair.len() == 2) && first != last {
            let first = first.clone();
            points.push(first);
        }
    }
}

/// What the schema API may declare about a field beyond its type: whether a save must set it
/// (`required`, 142 otherwise) and the value a create gets when it leaves it out
/// (`defaultValue`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldOptions {
    /// As declared (`Some(false)` is echoed back as Parse Server does).
    pub required: Option<bool>,
    pub default_value: Option<Value>,
}

impl FieldOptions {
    /// Reads `required` and `defaultValue` from a schema-API field of type `field_type`, with
    /// Parse Server's checks: a default of another type is 111 "schema mismatch for C.f default
    /// value; …", neither option applies to a Relation (111), `required` must be a boolean (107).
    fn from_json(class_name: &str, name: &str, field: &Value, field_type: &FieldType) -> Result<FieldOptions, DataError> {
        let required = match field.get("required") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(required)) => Some(*required),
            Some(_) => return Err(DataError::RequiredNotBoolean(name.to_owned())),
        };
        let default_value = field.get("defaultValue").filter(|v| !v.is_null()).cloned();
        let not_for_relation = |option: &str| {
            DataError::OptionNotForRelation { option: option.to_owned(), field_type: field_type.clone() }
        };
        if let Some(default) = &default_value {
            if matches!(field_type, FieldType::Relation(_)) {
                return Err(not_for_relation("default value"));
            }
            let default_type = type_of_value(default)?;
            if default_type.as_ref() != Some(field_type) {
                let got = default_type.map_or_else(|| "null".to_owned(), |t| t.to_string());
                return Err(DataError::DefaultValueMismatch {
                    class: class_name.to_owned(),
                    field: name.to_owned(),
                    expected: field_type.clone(),
                    got,
                });
            }
        } else if required == Some(true) && matches!(field_type, FieldType::Relation(_)) {
            return Err(not_for_relation("required"));
        }
        Ok(FieldOptions { required, default_value })
    }

    fn is_empty(&self) -> bool {
        self.required.is_none() && self.default_value.is_none()
    }
}

/// One class's fields and their types, with the options and class-level permissions the
/// schema API declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassSchema {
    pub class_name: String,
    pub fields: BTreeMap<String, FieldType>,
    /// `required`/`defaultValue` of the fields that declare them.
    pub options: BTreeMap<String, FieldOptions>,
    /// None until the schema API sets some: then every request but the master key's is held to them.
    pub permissions: Option<ClassPermissions>,
    /// Indexes declared through the schema API, by name: `{field: 1 | -1, …}` each, listed with
    /// the schema as Parse Server lists them (with its `_id_` once any was declared).
    pub indexes: BTreeMap<String, Map<String, Value>>,
}

/// The index Parse Server lists first on every class that has declared ones: the objectId's.
const ID_INDEX: &str = "_id_";

impl ClassSchema {
    /// A schema for a new class: the name is validated (103) and the default fields filled in.
    pub fn new(class_name: &str) -> Result<ClassSchema, DataError> {
        validate_class_name(class_name)?;
        Ok(ClassSchema {
            class_name: class_name.to_owned(),
            fields: Self::default_fields(class_name),
            options: BTreeMap::new(),
            permissions: None,
            indexes: BTreeMap::new(),
        })
    }

    /// Applies a schema API `indexes` change as Parse Server does: each entry adds a new index
    /// `{field: 1 | -1, …}` on fields the class has, or drops one with `{"__op": "Delete"}`.
    /// An index that exists already or a drop of one that does not is 102, as is a field the
    /// class lacks; a name or a spec of another shape is 107. Checked whole before any change.
    pub fn change_indexes(&mut self, submitted: &Value) -> Result<(), DataError> {
        let invalid = DataError::InvalidIndex;
        let submitted = match submitted {
            Value::Null => return Ok(()),
            Value::Object(submitted) => submitted,
            _ => return Err(invalid("indexes must be an object of {name: {field: 1 or -1}}".into())),
        };
        let mut indexes = self.indexes.clone();
        for (name, spec) in submitted {
            if name.is_empty() || name == ID_INDEX {
                return Err(invalid(format!("{name:?} cannot be an index name")));
            }
            if spec.get("__op").and_then(Value::as_str) == Some("Delete") {
                if indexes.remove(name).is_none() {
                    return Err(DataError::IndexNotFound(name.clone()));
                }
                continue;
            }
            if indexes.contains_key(name) {
                return Err(DataError::IndexExists(name.clone()));
            }
            let keys = spec.as_object().filter(|keys| !keys.is_empty()).ok_or_else(|| {
                invalid(format!("index {name} must be {{field: 1 or -1, …}}"))
            })?;
            for (field, direction) in keys {
                if !matches!(direction.as_i64(), Some(1 | -1)) {
                    return Err(invalid(format!("index {name}: {field} must be 1 or -1, got {direction}")));
                }
                if !self.fields.contains_key(field) {
                    return Err(DataError::IndexFieldNotFound(field.clone()));
                }
            }
            indexes.insert(name.clone(), keys.clone());
        }
        // Once a class has declared an index, its list keeps `_id_`, even after the others are
        // dropped, as Parse Server's does.
        if indexes.keys().any(|name| name != ID_INDEX) {
            indexes.entry(ID_INDEX.to_owned()).or_insert_with(|| Map::from_iter([("_id".to_owned(), Value::from(1))]));
        }
        self.indexes = indexes;
        Ok(())
    }

    /// The fields Parse Server gives every object (`objectId`, `createdAt`, `updatedAt`,
    /// `ACL`) plus those it defines for its system classes — the same table as Parse
    /// Server's `defaultColumns`, so clients see the same schema from both servers.
    pub fn default_fields(class_name: &str) -> BTreeMap<String, FieldType> {
        use FieldType::*;
        let pointer = |class: &str| Pointer(class.to_owned());
        let relation = |class: &str| Relation(class.to_owned());
        let mut fields = vec![("objectId", String), ("createdAt", Date), ("updatedAt", Date), ("ACL", ACL)];
        fields.extend(match class_name {
            "_User" => vec![
                ("username", String),
                ("password", String),
                ("email", String),
                ("emailVerified", Boolean),
                ("authData", Object),
            ],
            "_Installation" => vec![
                ("installationId", String),
                ("deviceToken", String),
                ("channels", Array),
                ("deviceType", String),
                ("pushType", String),
                ("GCMSenderId", String),
                ("timeZone", String),
                ("localeIdentifier", String),
                ("badge", Number),
                ("appVersion", String),
                ("appName", String),
                ("appIdentifier", String),
                ("parseVersion", String),
            ],
            "_Role" => vec![("name", String), ("users", relation("_User")), ("roles", relation("_Role"))],
            "_Session" => vec![
                ("user", pointer("_User")),
                ("installationId", String),
                ("sessionToken", String),
                ("expiresAt", Date),
                ("createdWith", Object),
            ],
            "_Product" => vec![
                ("productIdentifier", String),
                ("download", File),
                ("downloadName", String),
                ("icon", File),
                ("order", Number),
                ("title", String),
                ("subtitle", String),
            ],
            "_PushStatus" => vec![
                ("pushTime", String),
                ("source", String),
                ("query", String),
                ("payload", String),
                ("title", String),
                ("expiry", Number),
                ("expiration_interval", Number),
                ("status", String),
                ("numSent", Number),
                ("numFailed", Number),
                ("pushHash", String),
                ("errorMessage", Object),
                ("sentPerType", Object),
                ("failedPerType", Object),
                ("sentPerUTCOffset", Object),
                ("failedPerUTCOffset", Object),
                ("count", Number),
            ],
            "_JobStatus" => vec![
                ("jobName", String),
                ("source", String),
                ("status", String),
                ("message", String),
                ("params", Object),
                ("finishedAt", Date),
            ],
            "_JobSchedule" => vec![
                ("jobName", String),
                ("description", String),
                ("params", String),
                ("startAfter", String),
                ("daysOfWeek", Array),
                ("timeOfDay", String),
                ("lastRun", Number),
                ("repeatMinutes", Number),
            ],
            "_Hooks" => vec![
                ("functionName", String),
                ("className", String),
                ("triggerName", String),
                ("url", String),
            ],
            "_GlobalConfig" => vec![("params", Object), ("masterKeyOnly", Object)],
            "_GraphQLConfig" => vec![("config", Object)],
            "_Audience" => {
                vec![("name", String), ("query", String), ("lastUsed", Date), ("timesUsed", Number)]
            }
            "_Idempotency" => vec![("reqId", String), ("expire", Date)],
            _ => vec![],
        });
        fields.into_iter().map(|(name, field_type)| (name.to_owned(), field_type)).collect()
    }

    /// The schema-API form: `{"className": "...", "fields": {"name": {"type": ...}}}`, with
    /// `required`/`defaultValue` on the fields that declare them and `classLevelPermissions`
    /// once some were set, and the declared `indexes`.
    pub fn to_json(&self) -> Value {
        let fields: Map<String, Value> = self
            .fields
            .iter()
            .map(|(name, field_type)| {
                let mut field = field_type.to_json();
                if let Some(options) = self.options.get(name) {
                    if let Some(required) = options.required {
                        field["required"] = Value::Bool(required);
                    }
                    if let Some(default) = &options.default_value {
                        field["defaultValue"] = default.clone();
                    }
                }
                (name.clone(), field)
            })
            .collect();
        let mut out = Map::new();
        out.insert("className".to_owned(), Value::from(self.class_name.as_str()));
        out.insert("fields".to_owned(), Value::Object(fields));
        if let Some(permissions) = &self.permissions {
            out.insert("classLevelPermissions".to_owned(), permissions.to_json());
        }
        if !self.indexes.is_empty() {
            let indexes = self.indexes.iter().map(|(name, keys)| (name.clone(), Value::Object(keys.clone()))).collect();
            out.insert("indexes".to_owned(), Value::Object(indexes));
        }
        Value::Object(out)
    }

    /// Adds a field declared through the schema API (its name checked as Parse Server does:
    /// 105 invalid, 136 a default field), with its options.
    pub fn declare_field(&mut self, name: &str, field: &Value) -> Result<(), DataError> {
        validate_field_name_in(&self.class_name, name).map_err(|_| DataError::InvalidSchemaFieldName(name.to_owned()))?;
        if Self::default_fields(&self.class_name).contains_key(name) {
            return Err(DataError::DefaultFieldAdded(name.to_owned()));
        }
        let field_type = FieldType::from_json(field)?;
        let options = FieldOptions::from_json(&self.class_name, name, field, &field_type)?;
        if field_type == FieldType::GeoPoint {
            if let Some(other) = self.fields.iter().find(|(_, t)| **t == FieldType::GeoPoint).map(|(n, _)| n) {
                return Err(DataError::SecondGeoPointField { field: name.to_owned(), other: other.clone() });
            }
        }
        if self.fields.len() >= MAX_FIELDS_PER_CLASS {
            return Err(DataError::ClassFull(self.class_name.clone()));
        }
        self.fields.insert(name.to_owned(), field_type);
        if !options.is_empty() {
            self.options.insert(name.to_owned(), options);
        }
        Ok(())
    }

    /// Removes a field declared by the schema API or a save; the class's default fields are 136.
    pub fn remove_field(&mut self, name: &str) -> Result<FieldType, DataError> {
        validate_field_name_in(&self.class_name, name).map_err(|_| DataError::InvalidSchemaFieldName(name.to_owned()))?;
        if Self::default_fields(&self.class_name).contains_key(name) {
            return Err(DataError::DefaultFieldChanged(name.to_owned()));
        }
        let removed = self.fields.remove(name).ok_or_else(|| DataError::FieldNotFound(name.to_owned()))?;
        self.options.remove(name);
        if let Some(permissions) = self.permissions.as_mut() {
            permissions.forget_field(name);
        }
        Ok(removed)
    }

    /// Reads the schema-API form (a stored schema, or a schema POST body). The class's
    /// default fields are always present in the result, whether or not the JSON lists them;
    /// listing one with a different type is 136, as in Parse Server. `fields` may be absent.
    /// `classLevelPermissions` are validated against the fields; `indexes` are kept as stored.
    pub fn from_json(value: &Value) -> Result<ClassSchema, DataError> {
        let invalid_json = |what: &str| DataError::InvalidSchema(what.to_owned());
        let object = value.as_object().ok_or_else(|| invalid_json("a schema must be an object"))?;
        let class_name = object
            .get("className")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid_json("a schema needs a string className"))?;
        let mut schema = ClassSchema::new(class_name)?;
        let fields = match object.get("fields") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(fields)) => fields.clone(),
            Some(_) => return Err(invalid_json("schema fields must be an object")),
        };
        for (name, field) in &fields {
            validate_field_name_in(class_name, name)?;
            let field_type = FieldType::from_json(field)?;
            match schema.fields.get(name) {
                Some(default) if *default != field_type => {
                    return Err(DataError::DefaultFieldAdded(name.clone()))
                }
                Some(_) => {}
                None => {
                    let options = FieldOptions::from_json(class_name, name, field, &field_type)?;
                    if !options.is_empty() {
                        schema.options.insert(name.clone(), options);
                    }
                    schema.fields.insert(name.clone(), field_type);
                }
            }
        }
        if let Some(permissions) = object.get("classLevelPermissions").filter(|p| !p.is_null()) {
            schema.permissions = Some(ClassPermissions::parse(permissions, &schema.fields)?);
        }
        // Kept as stored (Parse Server's own may hold text indexes or others cloudrt does not
        // declare), so that rewriting the schema never drops them.
        if let Some(Value::Object(indexes)) = object.get("indexes") {
            schema.indexes =
                indexes.iter().filter_map(|(name, keys)| Some((name.clone(), keys.as_object()?.clone()))).collect();
        }
        Ok(schema)
    }

    /// Checks a create/update body against the schema and adds the fields it introduces,
    /// returning their names in the order found.
    ///
    /// Per key: `objectId`, `createdAt` and `updatedAt` are skipped (server-owned; the caller
    /// strips them). `ACL` must be `null`, `Delete`, or a valid ACL (123). Any other key must
    /// be a valid field path (105); a dotted key types its top-level field as Object, or as
    /// Array when the next segment is an index, as Parse Server does. Values with no type
    /// (`null`, `Delete`) are not checked further. A type that differs from the field's
    /// existing one is 111 "schema mismatch for C.f; expected T but got U". At most one
    /// top-level GeoPoint per body, as Parse Server requires (111).
    ///
    /// A body that would take the class past [`MAX_FIELDS_PER_CLASS`] fields is 105.
    ///
    /// On error the schema is unchanged, so a rejected write never leaves a field behind.
    pub fn check_and_extend(&mut self, update: &Map<String, Value>) -> Result<Vec<String>, DataError> {
        let added = self.check(update)?;
        let mut names = Vec::with_capacity(added.len());
        for (name, field_type) in added {
            self.fields.insert(name.clone(), field_type);
            names.push(name);
        }
        Ok(names)
    }

    /// [`ClassSchema::check_and_extend`] without the extension: the fields (with their types)
    /// the body would add. Every save checks its body, and almost none adds a field, so the
    /// check reads the shared schema instead of copying it.
    pub fn check(&self, update: &Map<String, Value>) -> Result<Vec<(String, FieldType)>, DataError> {
        let mut added: Vec<(String, FieldType)> = Vec::new();
        let mut geo_points = 0;
        for (key, value) in update {
            if SERVER_OWNED_FIELDS.contains(&key.as_str()) {
                continue;
            }
            if key == "ACL" {
                if !value.is_null() && !matches!(Op::parse(value)?, Some(Op::Delete)) {
                    Acl::parse(value)?;
                }
                continue;
            }
            validate_field_path(key)?;
            let (field, nested) = match key.split_once('.') {
                Some((field, rest)) => (field, Some(rest)),
                None => (key.as_str(), None),
            };
            validate_field_name_in(&self.class_name, field)?;
            let Some(value_type) = type_of_value(value)? else {
                continue;
            };
            let field_type = match nested {
                None => {
                    if value_type == FieldType::GeoPoint {
                        geo_points += 1;
                        if geo_points > 1 {
                            return Err(DataError::SecondGeoPointValue);
                        }
                    }
                    value_type
                }
                Some(rest) => {
                    let next = rest.split('.').next().unwrap_or_default();
                    if next.bytes().all(|b| b.is_ascii_digit()) {
                        FieldType::Array
                    } else {
                        FieldType::Object
                    }
                }
            };
            let pending = added.iter().find(|(name, _)| name == field).map(|(_, t)| t);
            match self.fields.get(field).or(pending) {
                Some(expected) if *expected != field_type => {
                    return Err(DataError::IncorrectType {
                        class: self.class_name.clone(),
                        field: field.to_owned(),
                        expected: expected.clone(),
                        got: field_type,
                    })
                }
                Some(_) => {}
                None => added.push((field.to_owned(), field_type)),
            }
        }
        if !added.is_empty() && self.fields.len() + added.len() > MAX_FIELDS_PER_CLASS {
            return Err(DataError::TooManyFields { class: self.class_name.clone(), count: self.fields.len() + added.len() });
        }
        Ok(added)
    }
}

impl Serialize for ClassSchema {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ClassSchema {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        ClassSchema::from_json(&value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    fn pointer(class: &str, id: &str) -> Value {
        json!({"__type": "Pointer", "className": class, "objectId": id})
    }

    #[test]
    fn class_names() {
        let cases = [
            ("GameScore", true),
            ("a", true),
            ("A_b_9", true),
            ("Z9", true),
            ("_User", true),
            ("_Installation", true),
            ("_Role", true),
            ("_Session", true),
            ("_Product", true),
            ("_PushStatus", true),
            ("_JobStatus", true),
            ("_JobSchedule", true),
            ("_Audience", true),
            ("_Idempotency", true),
            ("_Hooks", true),
            ("_GlobalConfig", true),
            ("_GraphQLConfig", true),
            ("_Custom", false),
            ("_user", false),
            ("", false),
            ("9Lives", false),
            ("Game Score", false),
            ("Game-Score", false),
            ("Game.Score", false),
            ("Gäme", false),
            ("_Join:users:_Role", false),
        ];
        for (name, ok) in cases {
            let result = validate_class_name(name);
            assert_eq!(result.is_ok(), ok, "{name}");
            if let Err(err) = result {
                assert_eq!((err.code(), err.to_string()), (ErrorCode::INVALID_CLASS_NAME.0, format!("Invalid class name: {name}")));
            }
        }
    }

    #[test]
    fn field_names_and_paths() {
        // (name, valid as a field name, valid as a path)
        let cases = [
            ("score", true, true),
            ("Score_2", true, true),
            ("ACL", true, true),
            ("_score", false, false),
            ("2score", false, false),
            ("", false, false),
            ("my-score", false, false),
            ("length", false, false),
            ("lengthy", true, true),
            ("a.b", false, true),
            ("a.b.c", false, true),
            ("a.0", false, true),
            ("a.0.b", false, true),
            ("a.B_1", false, true),
            ("a..b", false, false),
            ("a.", false, false),
            (".a", false, false),
            ("a.b-c", false, false),
            ("a._b", false, false),
            ("a.$gt", false, false),
            ("_a.b", false, false),
            ("length.x", false, false),
        ];
        for (name, field_ok, path_ok) in cases {
            assert_eq!(validate_field_name(name).is_ok(), field_ok, "field {name}");
            assert_eq!(validate_field_path(name).is_ok(), path_ok, "path {name}");
            for result in [validate_field_name(name), validate_field_path(name)] {
                if let Err(err) = result {
                    assert_eq!((err.code(), err.to_string()), (ErrorCode::INVALID_KEY_NAME.0, format!("Invalid field name: {name}")));
                }
            }
        }
    }

    #[test]
    fn field_type_json_round_trips() {
        let cases = [
            (FieldType::String, json!({"type": "String"})),
            (FieldType::Number, json!({"type": "Number"})),
            (FieldType::Boolean, json!({"type": "Boolean"})),
            (FieldType::Date, json!({"type": "Date"})),
            (FieldType::Object, json!({"type": "Object"})),
            (FieldType::Array, json!({"type": "Array"})),
            (FieldType::Pointer("_User".into()), json!({"type": "Pointer", "targetClass": "_User"})),
            (FieldType::Relation("Post".into()), json!({"type": "Relation", "targetClass": "Post"})),
            (FieldType::GeoPoint, json!({"type": "GeoPoint"})),
            (FieldType::File, json!({"type": "File"})),
            (FieldType::Bytes, json!({"type": "Bytes"})),
            (FieldType::Polygon, json!({"type": "Polygon"})),
            (FieldType::ACL, json!({"type": "ACL"})),
        ];
        for (field_type, json) in cases {
            assert_eq!(field_type.to_json(), json);
            assert_eq!(serde_json::to_value(&field_type).unwrap(), json);
            assert_eq!(FieldType::from_json(&json).unwrap(), field_type);
            assert_eq!(serde_json::from_value::<FieldType>(json).unwrap(), field_type);
        }
        let with_options = json!({"type": "String", "required": true, "defaultValue": "x"});
        assert_eq!(FieldType::from_json(&with_options).unwrap(), FieldType::String);
    }

    #[test]
    fn field_type_json_errors() {
        let cases = [
            (json!("String"), 107),
            (json!({}), 107),
            (json!({"type": 1}), 107),
            (json!({"type": "Strang"}), 111),
            (json!({"type": "string"}), 111),
            (json!({"type": "Pointer"}), 135),
            (json!({"type": "Relation", "targetClass": null}), 135),
            (json!({"type": "Pointer", "targetClass": 5}), 107),
            (json!({"type": "Pointer", "targetClass": "bad class"}), 103),
        ];
        for (json, code) in cases {
            assert_eq!(FieldType::from_json(&json).unwrap_err().code(), code, "{json}");
            assert!(serde_json::from_value::<FieldType>(json).is_err());
        }
    }

    #[test]
    fn types_print_as_parse_does() {
        assert_eq!(FieldType::Pointer("_User".into()).to_string(), "Pointer<_User>");
        assert_eq!(FieldType::Relation("A".into()).to_string(), "Relation<A>");
        assert_eq!(FieldType::Number.to_string(), "Number");
        assert_eq!(FieldType::ACL.to_string(), "ACL");
    }

    #[test]
    fn types_of_values() {
        let cases: Vec<(Value, Option<FieldType>)> = vec![
            (json!(null), None),
            (json!(true), Some(FieldType::Boolean)),
            (json!(1), Some(FieldType::Number)),
            (json!(-1.5), Some(FieldType::Number)),
            (json!("x"), Some(FieldType::String)),
            (json!(""), Some(FieldType::String)),
            (json!([1, "a"]), Some(FieldType::Array)),
            (json!({}), Some(FieldType::Object)),
            (json!({"a": {"__type": "Nope"}}), Some(FieldType::Object)),
            (json!({"__type": null, "a": 1}), Some(FieldType::Object)),
            (pointer("_User", "u1"), Some(FieldType::Pointer("_User".into()))),
            (json!({"__type": "Relation", "className": "Post"}), Some(FieldType::Relation("Post".into()))),
            (json!({"__type": "Date", "iso": "2015-03-24T20:19:00.542Z"}), Some(FieldType::Date)),
            (json!({"__type": "Date", "iso": "2015-03-24T20:19:00Z"}), Some(FieldType::Date)),
            (json!({"__type": "GeoPoint", "latitude": 40.0, "longitude": -30}), Some(FieldType::GeoPoint)),
            (json!({"__type": "GeoPoint", "latitude": -90, "longitude": 180}), Some(FieldType::GeoPoint)),
            (json!({"__type": "File", "name": "a.png"}), Some(FieldType::File)),
            (json!({"__type": "File", "name": "a.png", "url": "http://x/a.png"}), Some(FieldType::File)),
            (json!({"__type": "Bytes", "base64": "aGVsbG8="}), Some(FieldType::Bytes)),
            (
                json!({"__type": "Polygon", "coordinates": [[0, 0], [0, 1], [1, 1.5]]}),
                Some(FieldType::Polygon),
            ),
            (json!({"__op": "Delete"}), None),
            (json!({"__op": "Increment", "amount": 1}), Some(FieldType::Number)),
            (json!({"__op": "Add", "objects": [1]}), Some(FieldType::Array)),
            (json!({"__op": "AddUnique", "objects": [1]}), Some(FieldType::Array)),
            (json!({"__op": "Remove", "objects": [1]}), Some(FieldType::Array)),
            (
                json!({"__op": "AddRelation", "objects": [pointer("Post", "p1")]}),
                Some(FieldType::Relation("Post".into())),
            ),
            (
                json!({"__op": "RemoveRelation", "objects": [pointer("Post", "p1")]}),
                Some(FieldType::Relation("Post".into())),
            ),
            (json!({"__op": "AddRelation", "objects": []}), None),
            (
                json!({"__op": "Batch", "ops": [
                    {"__op": "AddRelation", "objects": [pointer("Post", "p1")]},
                    {"__op": "RemoveRelation", "objects": [pointer("Post", "p2")]},
                ]}),
                Some(FieldType::Relation("Post".into())),
            ),
            (json!({"__op": "Batch", "ops": [{"__op": "Delete"}]}), None),
        ];
        for (value, expected) in cases {
            assert_eq!(type_of_value(&value).unwrap(), expected, "{value}");
        }
    }

    #[test]
    fn malformed_values() {
        let cases = [
            (json!({"__type": "Whatever"}), 111),
            (json!({"__type": "Object", "className": "A", "objectId": "1"}), 111),
            (json!({"__type": 5}), 111),
            (json!({"__type": "Pointer", "objectId": "1"}), 111),
            (json!({"__type": "Pointer", "className": "", "objectId": "1"}), 111),
            (json!({"__type": "Pointer", "className": "A"}), 106),
            (json!({"__type": "Pointer", "className": "A", "objectId": 1}), 106),
            (json!({"__type": "Pointer", "className": "bad name", "objectId": "1"}), 103),
            (json!({"__type": "Relation"}), 111),
            (json!({"__type": "Relation", "className": "_Bad"}), 103),
            (json!({"__type": "Date"}), 111),
            (json!({"__type": "Date", "iso": 5}), 111),
            (json!({"__type": "Date", "iso": "yesterday"}), 111),
            (json!({"__type": "GeoPoint", "latitude": 1}), 111),
            (json!({"__type": "GeoPoint", "latitude": "1", "longitude": 2}), 111),
            (json!({"__type": "GeoPoint", "latitude": 91, "longitude": 0}), 111),
            (json!({"__type": "GeoPoint", "latitude": 0, "longitude": -180.5}), 111),
            (json!({"__type": "File"}), 111),
            (json!({"__type": "File", "name": ""}), 111),
            (json!({"__type": "Bytes", "base64": 1}), 111),
            (json!({"__type": "Polygon"}), 111),
            (json!({"__type": "Polygon", "coordinates": "x"}), 111),
            (json!({"__type": "Polygon", "coordinates": [[0, 0], [1], [2, 2]]}), 111),
            (json!({"__type": "Polygon", "coordinates": [[0, 0], [1, 1]]}), 107),
            (json!({"__op": "Frobnicate"}), 107),
            (json!({"__op": "Increment", "amount": "x"}), 107),
            (json!({"__op": "Add"}), 107),
            (json!({"__op": "AddRelation", "objects": [1]}), 106),
            (
                json!({"__op": "Batch", "ops": [
                    {"__op": "Increment", "amount": 1},
                    {"__op": "Add", "objects": []},
                ]}),
                111,
            ),
        ];
        for (value, code) in cases {
            let err = type_of_value(&value).expect_err(&value.to_string());
            assert_eq!(err.code(), code, "{value}: {}", err);
        }
        let err = type_of_value(&json!({"__type": "Whatever"})).unwrap_err();
        assert_eq!(err.to_string(), "This is not a valid Whatever");
    }

    #[test]
    fn default_fields_match_parse_server() {
        let common = ["ACL", "createdAt", "objectId", "updatedAt"];
        for class in ["GameScore", "_User", "_Session", "_Role", "_Installation", "_Hooks"] {
            let fields = ClassSchema::default_fields(class);
            for name in common {
                assert!(fields.contains_key(name), "{class}.{name}");
            }
        }
        assert_eq!(ClassSchema::default_fields("GameScore").len(), 4);
        let user = ClassSchema::default_fields("_User");
        assert_eq!(user.len(), 9);
        assert_eq!(user["emailVerified"], FieldType::Boolean);
        assert_eq!(user["authData"], FieldType::Object);
        assert_eq!(user["password"], FieldType::String);
        let session = ClassSchema::default_fields("_Session");
        assert_eq!(session["user"], FieldType::Pointer("_User".into()));
        assert_eq!(session["expiresAt"], FieldType::Date);
        assert_eq!(session["createdWith"], FieldType::Object);
        assert!(!session.contains_key("restricted"));
        let role = ClassSchema::default_fields("_Role");
        assert_eq!(role["users"], FieldType::Relation("_User".into()));
        assert_eq!(role["roles"], FieldType::Relation("_Role".into()));
        assert_eq!(ClassSchema::default_fields("_Installation")["badge"], FieldType::Number);
        assert_eq!(ClassSchema::default_fields("_Idempotency")["expire"], FieldType::Date);
    }

    #[test]
    fn schema_json_round_trips() {
        let mut schema = ClassSchema::new("GameScore").unwrap();
        schema.fields.insert("score".into(), FieldType::Number);
        schema.fields.insert("owner".into(), FieldType::Pointer("_User".into()));
        let json = schema.to_json();
        assert_eq!(
            json,
            json!({"className": "GameScore", "fields": {
                "objectId": {"type": "String"},
                "createdAt": {"type": "Date"},
                "updatedAt": {"type": "Date"},
                "ACL": {"type": "ACL"},
                "score": {"type": "Number"},
                "owner": {"type": "Pointer", "targetClass": "_User"},
            }})
        );
        assert_eq!(ClassSchema::from_json(&json).unwrap(), schema);
        let text = serde_json::to_string(&schema).unwrap();
        assert_eq!(serde_json::from_str::<ClassSchema>(&text).unwrap(), schema);
    }

    #[test]
    fn schema_from_json_adds_defaults_and_validates() {
        let post = json!({"className": "Post", "fields": {"title": {"type": "String"}}});
        let schema = ClassSchema::from_json(&post).unwrap();
        assert_eq!(schema.fields.len(), 5);
        assert_eq!(schema.fields["title"], FieldType::String);
        assert_eq!(ClassSchema::from_json(&json!({"className": "_User"})).unwrap().fields.len(), 9);
        let hooks = json!({"className": "_Hooks", "fields": {"className": {"type": "String"}}});
        assert!(ClassSchema::from_json(&hooks).is_ok());

        let cases = [
            (json!([]), 107),
            (json!({"fields": {}}), 107),
            (json!({"className": 3}), 107),
            (json!({"className": "Bad Name"}), 103),
            (json!({"className": "_Secret"}), 103),
            (json!({"className": "Post", "fields": []}), 107),
            (json!({"className": "Post", "fields": {"_x": {"type": "String"}}}), 105),
            (json!({"className": "Post", "fields": {"className": {"type": "String"}}}), 105),
            (json!({"className": "Post", "fields": {"x": {"type": "Nope"}}}), 111),
            (json!({"className": "Post", "fields": {"x": {"type": "Pointer"}}}), 135),
            (json!({"className": "Post", "fields": {"createdAt": {"type": "String"}}}), 136),
            (json!({"className": "_User", "fields": {"email": {"type": "Number"}}}), 136),
        ];
        for (json, code) in cases {
            assert_eq!(ClassSchema::from_json(&json).unwrap_err().code(), code, "{json}");
        }
    }

    #[test]
    fn check_and_extend_records_new_fields() {
        let date = json!({"__type": "Date", "iso": "2015-03-24T20:19:00.542Z"});
        let geo = json!({"__type": "GeoPoint", "latitude": 1, "longitude": 2});
        // (class, body, new fields with their types)
        type Case = (&'static str, Value, Vec<(&'static str, FieldType)>);
        let cases: Vec<Case> = vec![
            ("Post", json!({}), vec![]),
            (
                "Post",
                json!({"title": "x", "views": 3, "draft": false, "at": date, "where": geo}),
                vec![
                    ("at", FieldType::Date),
                    ("draft", FieldType::Boolean),
                    ("title", FieldType::String),
                    ("views", FieldType::Number),
                    ("where", FieldType::GeoPoint),
                ],
            ),
            ("Post", json!({"n": null, "m": {"__op": "Delete"}}), vec![]),
            (
                "Post",
                json!({"objectId": 5, "createdAt": "x", "updatedAt": [], "ACL": {"*": {"read": true}}}),
                vec![],
            ),
            ("Post", json!({"ACL": null}), vec![]),
            ("Post", json!({"ACL": {"__op": "Delete"}}), vec![]),
            (
                "Post",
                json!({"owner": pointer("_User", "u")}),
                vec![("owner", FieldType::Pointer("_User".into()))],
            ),
            (
                "Post",
                json!({"likes": {"__op": "AddRelation", "objects": [pointer("_User", "u")]}}),
                vec![("likes", FieldType::Relation("_User".into()))],
            ),
            (
                "Post",
                json!({"tags": {"__op": "AddUnique", "objects": ["a"]}}),
                vec![("tags", FieldType::Array)],
            ),
            ("Post", json!({"n": {"__op": "Increment", "amount": 1}}), vec![("n", FieldType::Number)]),
            ("Post", json!({"a.b": 1, "a.c": "x"}), vec![("a", FieldType::Object)]),
            ("Post", json!({"a.b.c": {"__op": "Increment", "amount": 1}}), vec![("a", FieldType::Object)]),
            ("Post", json!({"l.0": 1}), vec![("l", FieldType::Array)]),
            ("Post", json!({"l.0.x": 1}), vec![("l", FieldType::Array)]),
            ("Post", json!({"a.b": null}), vec![]),
            ("Post", json!({"a": {"x": 1}, "a.y": 2}), vec![("a", FieldType::Object)]),
            ("Post", json!({"x": {"__op": "AddRelation", "objects": []}}), vec![]),
            (
                "Post",
                json!({"p": {"__type": "Polygon", "coordinates": [[0, 0], [0, 1], [1, 1]]}}),
                vec![("p", FieldType::Polygon)],
            ),
            (
                "_User",
                json!({"username": "u", "password": "p", "email": "e", "age": 3}),
                vec![("age", FieldType::Number)],
            ),
            ("_User", json!({"authData": {"anonymous": {"id": "x"}}, "authData.x": {"id": "y"}}), vec![]),
            ("_Hooks", json!({"className": "Post"}), vec![]),
            (
                "Post",
                json!({"g": geo, "h.inner": geo}),
                vec![("g", FieldType::GeoPoint), ("h", FieldType::Object)],
            ),
        ];
        for (class, body, expected) in cases {
            let mut schema = ClassSchema::new(class).unwrap();
            let before = schema.fields.clone();
            let added =
                schema.check_and_extend(&map(body.clone())).unwrap_or_else(|e| panic!("{body}: {e:?}"));
            let mut names: Vec<&str> = expected.iter().map(|(name, _)| *name).collect();
            names.sort_unstable();
            let mut added = added;
            added.sort_unstable();
            assert_eq!(added, names, "{body}");
            assert_eq!(schema.fields.len(), before.len() + expected.len(), "{body}");
            for (name, field_type) in expected {
                assert_eq!(schema.fields[name], field_type, "{body} {name}");
            }
            assert_eq!(
                schema.check_and_extend(&map(body.clone())).unwrap(),
                Vec::<String>::new(),
                "{body} again"
            );
        }
    }

    #[test]
    fn check_and_extend_rejects_bad_bodies() {
        let mut existing = ClassSchema::new("Post").unwrap();
        existing.fields.insert("title".into(), FieldType::String);
        existing.fields.insert("owner".into(), FieldType::Pointer("_User".into()));
        existing.fields.insert("likes".into(), FieldType::Relation("_User".into()));
        existing.fields.insert("meta".into(), FieldType::Object);
        existing.fields.insert("tags".into(), FieldType::Array);
        let geo = json!({"__type": "GeoPoint", "latitude": 1, "longitude": 2});
        // (body, code, message if it matters)
        let cases: Vec<(Value, i32, Option<&str>)> = vec![
            (
                json!({"title": 3}),
                111,
                Some("schema mismatch for Post.title; expected String but got Number"),
            ),
            (
                json!({"owner": pointer("Post", "p")}),
                111,
                Some("schema mismatch for Post.owner; expected Pointer<_User> but got Pointer<Post>"),
            ),
            (json!({"owner": "u1"}), 111, None),
            (json!({"title": {"__op": "Increment", "amount": 1}}), 111, None),
            (json!({"title": {"__op": "Add", "objects": [1]}}), 111, None),
            (json!({"likes": {"__op": "AddRelation", "objects": [pointer("Post", "p")]}}), 111, None),
            (
                json!({"createdAt.x": 1}),
                111,
                Some("schema mismatch for Post.createdAt; expected Date but got Object"),
            ),
            (json!({"title.x": 1}), 111, None),
            (json!({"meta.0": 1}), 111, Some("schema mismatch for Post.meta; expected Object but got Array")),
            (json!({"tags.x": 1}), 111, None),
            (
                json!({"n": 1, "n.x": 2}),
                111,
                Some("schema mismatch for Post.n; expected Number but got Object"),
            ),
            (json!({"g": geo, "h": geo}), 111, Some("there can only be one geopoint field in a class")),
            (json!({"_private": 1}), 105, Some("Invalid field name: _private")),
            (json!({"bad key": 1}), 105, None),
            (json!({"length": 1}), 105, None),
            (json!({"className": "X"}), 105, Some("Invalid field name: className")),
            (json!({"a..b": 1}), 105, None),
            (json!({"a.b-c": null}), 105, None),
            (json!({"x": {"__type": "Nope"}}), 111, None),
            (json!({"x": {"__op": "Nope"}}), 107, None),
            (json!({"ACL": "public"}), 123, None),
            (json!({"ACL": {"*": {"read": 1}}}), 123, None),
            (json!({"ACL": {"__op": "Increment", "amount": 1}}), 123, None),
            (json!({"fresh": 1, "title": 2}), 111, None),
        ];
        for (body, code, message) in cases {
            let mut schema = existing.clone();
            let err = schema.check_and_extend(&map(body.clone())).expect_err(&body.to_string());
            assert_eq!(err.code(), code, "{body}: {}", err);
            if let Some(message) = message {
                assert_eq!(err.to_string(), message, "{body}");
            }
            assert_eq!(schema, existing, "a rejected body must not change the schema: {body}");
        }
    }

    #[test]
    fn names_are_bounded() {
        let long = "a".repeat(MAX_NAME_LEN + 1);
        assert!(validate_class_name(&"a".repeat(MAX_NAME_LEN)).is_ok());
        let error = validate_class_name(&long).unwrap_err();
        assert_eq!(error.code(), 103);
        assert!(error.to_string().len() < 200, "the name is abbreviated: {}", error);
        assert!(validate_field_name(&"a".repeat(MAX_NAME_LEN)).is_ok());
        assert_eq!(validate_field_name(&long).unwrap_err().code(), 105);
        assert_eq!(validate_field_path(&format!("a.{long}")).unwrap_err().code(), 105);
        assert!(validate_field_path(&vec!["a"; MAX_PATH_SEGMENTS].join(".")).is_ok());
        let error = validate_field_path(&vec!["a"; MAX_PATH_SEGMENTS + 1].join(".")).unwrap_err();
        assert!(error.code() == ErrorCode::INVALID_KEY_NAME.0 && error.to_string().contains("at most 32 segments"), "{}", error);
    }

    #[test]
    fn fields_per_class_are_bounded() {
        let mut schema = ClassSchema::new("Wide").unwrap();
        let room = MAX_FIELDS_PER_CLASS - schema.fields.len();
        let fields = |range: std::ops::Range<usize>| -> Map<String, Value> {
            range.map(|i| (format!("f{i}"), json!(i))).collect()
        };
        schema.check_and_extend(&fields(0..room)).unwrap();
        assert_eq!(schema.fields.len(), MAX_FIELDS_PER_CLASS);
        schema.check_and_extend(&fields(0..10)).expect("known fields are fine");
        let before = schema.clone();
        let error = schema.check_and_extend(&fields(room..room + 1)).unwrap_err();
        assert!(error.code() == ErrorCode::INVALID_KEY_NAME.0 && error.to_string().contains("at most 500"), "{}", error);
        assert_eq!(schema, before);
    }

    #[test]
    fn pointer_ids_must_be_plain() {
        for id in ["", "a\u{0}b", "tab\there", &"x".repeat(MAX_OBJECT_ID_LEN + 1)] {
            assert_eq!(type_of_value(&pointer("A", id)).unwrap_err().code(), 106, "{id:?}");
        }
        assert!(type_of_value(&pointer("A", "héllo")).is_ok());
    }
}
