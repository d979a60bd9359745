//! The object model over a [`Store`]: Parse classes with schemas, ACL-checked reads and
//! queries, and the write half of the save pipeline (prepare → triggers run above → commit).
//!
//! Nothing here knows HTTP or JavaScript: the API layer drives a save as
//! `prepare_*` → beforeSave (cloud code or webhook) → [`Database::commit`] → afterSave.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde_json::{Map, Value};

use super::acl::{self, Acl, Principal};
use super::answer_size::AnswerBudget;
use super::clp::Operation;
use super::deadline::{Deadline, CHECK_EVERY};
use super::ids;
use super::index::{Constraint, IndexWrite, Indexes, Plan, Walk, NATURAL};
use self::explain::Explained;
use super::field_ops::{apply_update, check_nesting, RelationChanges};
use super::protected::{self, Reader, Use};
use super::query::{project_keys, Order, Query, Subquery, SubqueryAnswer};
use super::roles::{self, Roles};
use super::text_search::add_score;
use super::schema::{self, close_polygon_ring, validate_class_name, ClassSchema};
use super::DataError;
use super::unique::{self, ClaimsGuard, UserKeys};
use super::accounts;
use super::auth_data;
use self::included::Included;
use crate::store::{try_scan, try_scan_prefiltered, Document, Screen, Store, StoreError};

mod analytics;
mod class_admin;
mod explain;
mod in_place;
mod included;
mod other_nodes;
mod permissions;
mod pushdown;
mod system_writes;

pub use system_writes::{SystemClass, SystemWrite};

/// Stored objects as a query collects them (shared with the store, not copied).
type Matches = Vec<Arc<Map<String, Value>>>;

/// A query's answer: the page of results as the reader may see them, and the total count
/// when it was asked for.
pub type Found = (Vec<Map<String, Value>>, Option<usize>);

/// How many candidates an ordered walk may read for each result it is to answer (at least
/// [`MIN_WALK_BUDGET`]) before it leaves the query to a scan.
const WALK_CANDIDATES_PER_RESULT: usize = 64;
const MIN_WALK_BUDGET: usize = 4096;

/// Locks that serialise read-modify-writes of one object (by hash of class and id).
const STRIPES: usize = 64;

fn stripe_of(class: &str, id: &str) -> usize {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (class, id).hash(&mut hasher);
    (hasher.finish() % STRIPES as u64) as usize
}

/// Who is reading or writing, as far as data access is concerned.
#[derive(Debug, Clone, Default)]
pub struct Access {
    pub master: bool,
    pub user_id: Option<String>,
    /// Every role the user holds, inherited ones included (names without `role:`).
    pub roles: Arc<[String]>,
}

impl Access {
    pub fn master() -> Access {
        Access { master: true, ..Access::default() }
    }

    fn principal(&self) -> Principal<'_> {
        Principal { user_id: self.user_id.as_deref(), roles: &self.roles[..] }
    }

    fn can_read(&self, object: &Map<String, Value>) -> bool {
        self.master || acl::can_read(object, &self.principal())
    }

    fn can_write(&self, object: &Map<String, Value>) -> bool {
        self.master || acl::can_write(object, &self.principal())
    }
}

/// Settings of the data layer.
#[derive(Debug, Clone)]
pub struct DataSettings {
    /// Largest `limit` a query may ask for.
    pub max_limit: usize,
    /// Whether non-master clients may create classes by saving to them.
    pub allow_client_class_creation: bool,
    /// How long one query (with its subqueries) may scan before it stops with 124.
    pub query_timeout: Duration,
    /// Largest answer a query or get may build, in bytes of JSON (estimated while building).
    pub max_response_bytes: usize,
    /// Whether fields that queries keep scanning get an automatic index.
    pub auto_index: bool,
}

/// Query options as the REST API takes them (`where`, `order`, `limit`, …).
#[derive(Debug, Clone, Default)]
pub struct FindOptions {
    pub where_: Value,
    pub order: Option<String>,
    pub limit: Option<usize>,
    pub skip: usize,
    pub keys: Option<String>,
    pub exclude_keys: Option<String>,
    pub include: Vec<String>,
    pub count: bool,
}

/// A save checked and computed, waiting for beforeSave.
#[derive(Debug, Clone)]
pub struct PreparedSave {
    pub class_name: String,
    /// None for a create (the id is assigned at commit).
    pub object_id: Option<String>,
    pub original: Option<Arc<Map<String, Value>>>,
    /// The write to apply (with `__op`s): the client's body, then as beforeSave left it.
    body: Map<String, Value>,
    /// The body as the client sent it, to tell which fields beforeSave changed.
    client_body: Map<String, Value>,
    /// The object as it would be stored: original + body; what beforeSave sees.
    pub proposed: Map<String, Value>,
    /// Server-side fields set without schema checks (a user's password hash).
    internal: Map<String, Value>,
    /// The objectId a create will get, when it must be known before the write (a new
    /// user's ACL names the user).
    assigned_id: Option<String>,
    /// Whether [`Database::commit`] leaves the sync to its caller (a batch syncs once for all
    /// its writes before answering).
    deferred_sync: bool,
}

impl PreparedSave {
    pub fn is_new(&self) -> bool {
        self.object_id.is_none()
    }

    /// Leaves the sync of this save to the caller, which must call [`Database::sync`] before
    /// answering anyone: a batch shares one fsync among all its writes.
    pub fn defer_sync(&mut self) {
        self.deferred_sync = true;
    }

    /// Fixes the objectId a create will be stored under.
    pub fn assign_id(&mut self, id: String) {
        self.assigned_id = Some(id);
    }

    /// Adds a field that bypasses schema validation and is never returned.
    pub fn set_internal(&mut self, key: &str, value: Value) {
        self.internal.insert(key.to_string(), value);
    }

    pub fn body(&self) -> &Map<String, Value> {
        &self.body
    }

    /// Takes the write as beforeSave left it (the client's changes plus the handler's), checked
    /// against the schema like the client's was.
    pub fn replace_body(&mut self, db: &Database, body: Map<String, Value>) -> Result<(), DataError> {
        let body = normalize_body(&self.class_name, body)?;
        db.check_schema(&self.class_name, &body)?;
        let mut proposed = self.original.as_deref().cloned().unwrap_or_default();
        apply_update(&mut proposed, &body)?;
        check_nesting(&proposed)?;
        protected::strip_hidden(&mut proposed, Reader::Master);
        self.proposed = proposed;
        self.body = body;
        Ok(())
    }
}

/// A save that reached the store.
#[derive(Debug, Clone)]
pub struct SavedObject {
    /// The stored object (hidden fields removed).
    pub object: Map<String, Value>,
    /// What the REST answer carries: `objectId`+`createdAt` or `updatedAt`, and the fields an
    /// `__op` or a beforeSave changed.
    pub response: Map<String, Value>,
}

/// Parse classes over a store.
pub struct Database {
    store: Arc<dyn Store>,
    schemas: RwLock<HashMap<String, ClassSchema>>,
    /// Serialises schema changes so two first writes of a field cannot disagree on its type.
    schema_writes: Mutex<()>,
    stripes: Vec<Mutex<()>>,
    /// The embedded store's in-memory indexes (unused on a store other nodes share).
    indexes: Arc<Indexes>,
    /// `_User` usernames and emails, checked and claimed atomically with each user write.
    user_keys: UserKeys,
    /// Who holds which role, kept current by every `_Role` write and delete.
    roles: Roles,
    settings: DataSettings,
}

/// The fewest matches a scan keeps before pruning them to its page: pruning sorts what it keeps,
/// so doing it for every few matches of a small page would cost more than the memory it saves.
const PRUNE_AT_LEAST: usize = 1_024;

impl Database {
    pub fn open(store: Arc<dyn Store>, settings: DataSettings) -> Result<Database, DataError> {
        let schemas = other_nodes::read_schemas(&*store)?;
        let roles = Roles::load(&*store)?;
        UserKeys::declare(&*store)?;
        store.add_lookup(accounts::SESSION, accounts::SESSION_TOKEN)?;
        let indexes = Arc::new(Indexes::new(settings.auto_index));
        // Indexes are rebuilt in the background: start-up reads no object.
        if store.nodes().is_none() {
            for schema in schemas.values() {
                explain::want_indexes(&indexes, schema);
            }
            let scanning = Arc::clone(&store);
            indexes.start(Box::new(move |class, visit| scanning.scan(class, visit).is_ok()));
        }
        Ok(Database {
            store,
            schemas: RwLock::new(schemas),
            schema_writes: Mutex::new(()),
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            indexes,
            user_keys: UserKeys::default(),
            roles,
            settings,
        })
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Makes every acknowledged write durable; called before answering a client.
    pub fn sync(&self) -> Result<(), DataError> {
        self.store.sync().map_err(DataError::from)
    }

    /// Whether an answer built now could carry a write that is not yet durable; see
    /// [`Store::has_unsynced_writes`].
    pub fn has_unsynced_writes(&self) -> bool {
        self.store.has_unsynced_writes()
    }

    fn class_exists(&self, class: &str) -> bool {
        self.schemas.read().unwrap_or_else(|p| p.into_inner()).contains_key(class)
    }

    /// Every class's schema in the schema API's form (`{className, fields, …}`), by name.
    pub fn schemas(&self) -> Vec<Value> {
        let schemas = self.schemas.read().unwrap_or_else(|p| p.into_inner());
        let mut names: Vec<&String> = schemas.keys().collect();
        names.sort();
        names.into_iter().map(|name| self.schema_json(&schemas[name])).collect()
    }

    /// One object by id, if `access` may read it (101 otherwise, as Parse does).
    /// The answer is bounded by `max_response_bytes` like a query's (155).
    pub fn get(&self, access: &Access, class: &str, id: &str, include: &[String], keys: Option<&str>) -> Result<Map<String, Value>, DataError> {
        validate_class_name(class)?;
        let object = self.store.get(class, id)?;
        self.finish_get(access, class, object, include, keys)
    }

    /// [`Database::get`] without `include`, awaited in place when the store waits on its
    /// database server for it (see [`Store::get_awaiting`]); None: call `get`.
    pub async fn get_awaiting(&self, access: &Access, class: &str, id: &str, keys: Option<&str>) -> Option<Result<Map<String, Value>, DataError>> {
        if let Err(error) = validate_class_name(class) {
            return Some(Err(error));
        }
        let object = match self.store.get_awaiting(class, id)?.await {
            Ok(object) => object,
            Err(error) => return Some(Err(error.into())),
        };
        Some(self.finish_get(access, class, object, &[], keys))
    }

    /// The answer of a get from what the store read.
    fn finish_get(&self, access: &Access, class: &str, object: Option<Arc<Document>>, include: &[String], keys: Option<&str>) -> Result<Map<String, Value>, DataError> {
        let object = object.ok_or(DataError::ObjectNotFound)?;
        if !access.can_read(&object) {
            return Err(DataError::ObjectNotFound);
        }
        let included = self.fetch_included(std::slice::from_ref(&object), include)?;
        let mut object = self.present(access, class, &object);
        self.include(access, &mut object, include, &included)?;
        let object = match keys {
            Some(keys) => project_keys(&object, keys),
            None => object,
        };
        AnswerBudget::new(self.settings.max_response_bytes).take(&object)?;
        Ok(object)
    }

    /// Stored object as the reader may see it: hidden fields removed; for other callers than
    /// the master key every internal `_`-prefixed field too, and on `_User` and `_Session`
    /// rows of others the protected fields (`email`, `authData`, `sessionToken`), as Parse
    /// Server's protectedFields and sensitive-data filter do.
    fn present(&self, access: &Access, class: &str, object: &Map<String, Value>) -> Map<String, Value> {
        let mut out = object.clone();
        if access.master {
            protected::strip_hidden(&mut out, Reader::Master);
        } else {
            let owner = match class {
                "_User" => object.get("objectId"),
                "_Session" => object.get("user").and_then(|user| user.get("objectId")),
                _ => None,
            };
            let own = access.user_id.is_some() && access.user_id.as_deref() == owner.and_then(Value::as_str);
            protected::strip_hidden(&mut out, Reader::Client { class, own });
            self.hide_protected(access, class, &mut out);
        }
        out
    }

    /// Refuses a non-master `where` or `order` that names a field the reader may not filter
    /// on (105 internal, 119 protected): answers that depend on a hidden field reveal it.
    fn check_query_keys(access: &Access, class: &str, query: &Query, order: Option<&Order>) -> Result<(), DataError> {
        if access.master {
            return Ok(());
        }
        for key in query.keys() {
            protected::check_key(class, key, Use::Query)?;
        }
        for subquery in query.subqueries() {
            match subquery {
                Subquery::Values { class_name, key, .. } => {
                    protected::check_class(false, &class_name, "find")?;
                    protected::check_key(&class_name, &key, Use::Query)?;
                }
                Subquery::Related { owner_class, key, .. } => protected::check_key(&owner_class, &key, Use::Query)?,
                Subquery::Ids { class_name, .. } => protected::check_class(false, &class_name, "find")?,
            }
        }
        for key in order.map(Order::keys).unwrap_or_default() {
            protected::check_key(class, &key, Use::Sort)?;
        }
        Ok(())
    }

    /// Runs a query. Answers the page of results and, with `count`, the total.
    ///
    /// Bounded three ways: the `where` by [`Query::parse`]'s size limits (102), the time spent
    /// scanning (with subqueries) by `query_timeout` (124), and the answer by
    /// `max_response_bytes` (155).
    pub fn find(&self, access: &Access, class: &str, options: &FindOptions) -> Result<Found, DataError> {
        self.find_traced(access, class, options, &mut Explained::default())
    }

    /// `explain=1`: runs the query as [`Database::find`] would and answers how (the index or a
    /// scan, what it read) instead of its results. Master key only (119): a plan tells how
    /// many objects hold a value, whatever their ACLs.
    pub fn explain(&self, access: &Access, class: &str, options: &FindOptions) -> Result<Explained, DataError> {
        if !access.master {
            return Err(DataError::ExplainNeedsMaster);
        }
        let mut explained = Explained::default();
        let (results, _) = self.find_traced(access, class, options, &mut explained)?;
        explained.returned = results.len();
        Ok(explained)
    }

    /// What every query starts with: the class name checked, the `where` and `order` parsed
    /// (and whether the order asks for the text score), the keys they name allowed to the
    /// reader, and the query's deadline.
    fn parse_find(&self, access: &Access, class: &str, options: &FindOptions) -> Result<(Query, Order, bool, Deadline), DataError> {
        validate_class_name(class)?;
        let deadline = Deadline::after(self.settings.query_timeout);
        let query = Query::parse(&options.where_)?;
        let (order, by_score) = text_score_order(options.order.as_deref().unwrap_or(""));
        let order = Order::parse(&order)?;
        Self::check_query_keys(access, class, &query, Some(&order))?;
        Ok((query, order, by_score, deadline))
    }

    fn find_traced(&self, access: &Access, class: &str, options: &FindOptions, trace: &mut Explained) -> Result<Found, DataError> {
        let (mut query, order, by_score, deadline) = self.parse_find(access, class, options)?;
        self.resolve_subqueries(access, &mut query, &deadline)?;
        let limit = options.limit.unwrap_or(100).min(self.settings.max_limit);

        // A full-text search is scored per object: it is matched by a scan, never an index.
        let text = query.has_text_search().then_some(&query);
        if text.is_none() {
            if let Some((page, count)) = self.find_pushed_down(access, class, &query, &order, options, limit, &deadline)? {
                trace.index = explain::PUSHED_DOWN.to_owned();
                trace.examined = page.len();
                let skipped = FindOptions { skip: 0, ..options.clone() };
                return Ok((self.finish_page(access, class, page, &skipped, limit, None)?, count));
            }
        }
        // The in-memory indexes follow this process's writes only: on a store other nodes
        // write too they would miss objects, so there every query scans.
        let indexed = text.is_none() && self.store.nodes().is_none();
        if indexed {
            self.want_builtin_indexes(class, &query);
            if let Some((matches, count)) = self.find_indexed(access, class, &query, &order, options, limit, &deadline, trace)? {
                return Ok((self.finish_page(access, class, matches, options, limit, None)?, count));
            }
            if let Some(page) = self.walk_index(access, class, &query, &order, options, limit, &deadline, trace)? {
                self.indexes.scanned(class, &explain::fields_to_index(&query, &order), trace.examined);
                return self.finish_page(access, class, page, options, limit, None).map(|results| (results, None));
            }
        }
        // Ranked by text score, every match is kept: the score, not the order, picks the page.
        let ranked = text.is_some() && by_score;
        let wanted = if ranked { usize::MAX } else { options.skip.saturating_add(limit) };
        let (mut matches, count) = match query.object_id_equality() {
            Some(id) => {
                let candidates: Matches = self.store.get(class, id)?.into_iter().collect();
                trace.index = explain::OBJECT_ID.to_owned();
                trace.examined = candidates.len();
                let matches = matching(access, &query, candidates, &deadline)?;
                let count = matches.len();
                (matches, count)
            }
            None => {
                let (matches, count, examined) = self.scan_page(access, class, &query, &order, wanted, &deadline)?;
                trace.index = explain::SCAN.to_owned();
                trace.examined = examined;
                if indexed {
                    // A prefiltered scan decodes only its likely matches but still goes over
                    // the whole class, which is what makes it worth an index: the class's size,
                    // as the natural-order index knows it, counts.
                    let scanned = self.indexes.order_plan(class, NATURAL).map_or(examined, |all| all.candidates.max(examined));
                    self.indexes.scanned(class, &explain::fields_to_index(&query, &order), scanned);
                }
                (matches, count)
            }
        };
        if ranked {
            sort_by_text_score(&mut matches, &query, &order);
        } else {
            sort_page(&mut matches, &query, &order, wanted);
        }
        Ok((self.finish_page(access, class, matches, options, limit, text)?, options.count.then_some(count)))
    }

    /// A query no index serves: the class streamed past the query, keeping only the best
    /// `wanted` matches so far (pruned in batches as [`sort_page`] would order them), so memory
    /// follows the page, not the class. Answers them (unordered past the pruning), how many
    /// matched in all and how many objects were examined.
    fn scan_page(
        &self,
        access: &Access,
        class: &str,
        query: &Query,
        order: &Order,
        wanted: usize,
        deadline: &Deadline,
    ) -> Result<(Matches, usize, usize), DataError> {
        let prune_at = wanted.saturating_mul(2).max(PRUNE_AT_LEAST);
        let mut kept = Vec::new();
        let mut count = 0usize;
        let examined = self.scan_matches(access, class, query, deadline, |object| {
            count += 1;
            kept.push(object);
            if kept.len() >= prune_at {
                sort_page(&mut kept, query, order, wanted);
            }
        })?;
        Ok((kept, count, examined))
    }

    /// Streams every object of `class` that `access` may read and `query` matches into `keep`,
    /// looking at the deadline every [`CHECK_EVERY`] objects. Answers how many objects it
    /// examined (decoded and matched: the store's prefilter skips others unread).
    fn scan_matches(
        &self,
        access: &Access,
        class: &str,
        query: &Query,
        deadline: &Deadline,
        mut keep: impl FnMut(Arc<Document>),
    ) -> Result<usize, DataError> {
        let mut seen = 0usize;
        let prefilter = query.prefilter();
        // The screen refuses most objects before the visitor below sees them, so it looks at
        // the clock too: once the deadline has passed it lets the next object through, and the
        // visitor, which looks at every object it gets, stops the scan with 124.
        let screened = AtomicUsize::new(0);
        let readable_match = |object: &Document| {
            if screened.fetch_add(1, AtomicOrdering::Relaxed).is_multiple_of(CHECK_EVERY) && deadline.check().is_err() {
                return true;
            }
            access.can_read(object) && query.matches(object)
        };
        let mut fields = query.fields_read();
        if !access.master {
            fields.push(acl::ACL_FIELD);
        }
        let screen = Screen::new(fields, &readable_match);
        try_scan_prefiltered(self.store.as_ref(), class, prefilter.as_ref(), Some(&screen), DataError::from, |object| {
            deadline.check()?;
            seen += 1;
            if access.can_read(&object) && query.matches(&object) {
                keep(object);
            }
            Ok(true)
        })?;
        Ok(seen)
    }

    /// A query served by the index of its most selective constrained field (equality, `$in`
    /// or range; see [`Query::index_constraints`]): only the ids the index yields are read and
    /// matched, each checked against the whole query and the reader's ACL as a scan would, so
    /// a count counts only what the reader may see. When the ids come in the asked order (the
    /// order is on the indexed field, or there is none: the natural order) and no count is
    /// asked, the walk stops once the page is full. None when no index applies.
    #[allow(clippy::too_many_arguments)]
    fn find_indexed(
        &self,
        access: &Access,
        class: &str,
        query: &Query,
        order: &Order,
        options: &FindOptions,
        limit: usize,
        deadline: &Deadline,
        trace: &mut Explained,
    ) -> Result<Option<(Matches, Option<usize>)>, DataError> {
        if query.near_sphere().is_some() || query.object_id_equality().is_some() {
            return Ok(None);
        }
        let constraints = query.index_constraints();
        if constraints.is_empty() {
            return Ok(None);
        }
        let Some(plan) = self.indexes.plan(class, &constraints) else {
            return Ok(None);
        };
        let wanted = options.skip.saturating_add(limit);
        let plan = self.prefer_ordered_walk(class, plan, &constraints, order, wanted, options.count);
        let ordered = match order.single_field() {
            Some((field, descending)) if field == plan.field => Some(Walk::Field { descending }),
            None if order.is_empty() => Some(Walk::Natural),
            _ => None,
        };
        if options.count && wanted == 0 && query.exact_constraint().as_ref().is_some_and(|exact| exact.field == plan.field && exact.probe == plan.probe) {
            let mut failure = None;
            let readable = |id: &str| match self.store.get(class, id) {
                Ok(object) => object.is_some_and(|object| access.can_read(&object)),
                Err(error) => {
                    failure.get_or_insert(error.into());
                    false
                }
            };
            let count = self.indexes.count_plan(class, &plan, access.master, readable);
            if let Some(error) = failure {
                return Err(error);
            }
            if let Some(count) = count {
                trace.planned(&plan, 0);
                return Ok(Some((Vec::new(), Some(count))));
            }
        }
        let stop_early = ordered.is_some() && !options.count;
        let mut matches = Vec::new();
        let mut failure = None;
        let mut visited = 0usize;
        let served = self.indexes.walk_plan(class, &plan, ordered.unwrap_or(Walk::Natural), |id| {
            if stop_early && matches.len() >= wanted {
                return false;
            }
            visited += 1;
            match self.take_if_match(access, class, id, query, deadline, visited, &mut matches) {
                Ok(()) => true,
                Err(error) => {
                    failure = Some(error);
                    false
                }
            }
        });
        if let Some(error) = failure {
            return Err(error);
        }
        if !served {
            return Ok(None);
        }
        trace.planned(&plan, visited);
        let count = options.count.then_some(matches.len());
        if ordered.is_none() {
            sort_page(&mut matches, query, order, wanted);
        }
        Ok(Some((matches, count)))
    }

    /// One candidate of an index walk: added to `out` if the reader may read it and it matches
    /// the whole query. Every [`CHECK_EVERY`] visits the query's deadline is checked too.
    #[allow(clippy::too_many_arguments)]
    fn take_if_match(
        &self,
        access: &Access,
        class: &str,
        id: &str,
        query: &Query,
        deadline: &Deadline,
        visited: usize,
        out: &mut Matches,
    ) -> Result<(), DataError> {
        if visited.is_multiple_of(CHECK_EVERY) {
            deadline.check()?;
        }
        if let Some(object) = self.store.get(class, id)? {
            if access.can_read(&object) && query.matches(&object) {
                out.push(object);
            }
        }
        Ok(())
    }

    /// The plan for a small page ordered by a constrained field: walking that field's index in
    /// the asked order, stopping when the page is full, reads about `wanted × o / b` objects
    /// (its probe yields `o` ids, the most selective one `b`, matches assumed spread evenly),
    /// where reading every candidate of the most selective index and sorting reads `b`. Only a
    /// field the query constrains qualifies: an object without it matches no constraint on it,
    /// so the walk misses nothing a scan would answer.
    fn prefer_ordered_walk(
        &self,
        class: &str,
        best: Plan,
        constraints: &[Constraint],
        order: &Order,
        wanted: usize,
        count: bool,
    ) -> Plan {
        let Some((field, _)) = order.single_field() else { return best };
        if count || wanted == 0 || field == best.field {
            return best;
        }
        let Some(constraint) = constraints.iter().find(|c| c.field == field) else { return best };
        let Some(walk) = self.indexes.plan(class, std::slice::from_ref(constraint)) else {
            return best;
        };
        let walk_reads = (wanted as u128) * (walk.candidates as u128) / (best.candidates.max(1) as u128);
        if walk_reads < best.candidates as u128 {
            walk
        } else {
            best
        }
    }

    /// A query served by an ordered index: the class walked in the asked order (or the natural
    /// one) until the page is full. None when no index applies (a count, a geo or id query, an
    /// order on several fields, or a field an index cannot order): the caller scans instead.
    #[allow(clippy::too_many_arguments)]
    fn walk_index(
        &self,
        access: &Access,
        class: &str,
        query: &Query,
        order: &Order,
        options: &FindOptions,
        limit: usize,
        deadline: &Deadline,
        trace: &mut Explained,
    ) -> Result<Option<Matches>, DataError> {
        if options.count || query.near_sphere().is_some() || query.object_id_equality().is_some() {
            return Ok(None);
        }
        let (field, descending) = match order.single_field() {
            Some(single) => single,
            None if order.is_empty() => (NATURAL, false),
            None => return Ok(None),
        };
        let wanted = options.skip.saturating_add(limit);
        let mut page = Vec::new();
        if wanted == 0 {
            trace.index = explain::NOTHING.to_owned();
            return Ok(Some(page));
        }
        let Some(plan) = self.indexes.order_plan(class, field) else { return Ok(None) };
        // The walk reads its candidates one by one, where a scan streams the class: when few
        // objects match (or may be read), reading them all this way costs many times a scan,
        // so past a budget the walk gives up and the caller scans.
        let budget = wanted.saturating_mul(WALK_CANDIDATES_PER_RESULT).max(MIN_WALK_BUDGET);
        let mut failure = None;
        let mut visited = 0usize;
        let mut gave_up = false;
        let served = self.indexes.walk_plan(class, &plan, Walk::Field { descending }, |id| {
            visited += 1;
            if visited > budget {
                gave_up = true;
                return false;
            }
            match self.take_if_match(access, class, id, query, deadline, visited, &mut page) {
                Ok(()) => page.len() < wanted,
                Err(error) => {
                    failure = Some(error);
                    false
                }
            }
        });
        if let Some(error) = failure {
            return Err(error);
        }
        if gave_up {
            return Ok(None);
        }
        if served {
            trace.planned(&plan, visited);
        }
        Ok(served.then_some(page))
    }

    /// The asked page of ordered matches, as the reader may see it: `skip`/`limit`, hidden
    /// fields removed, `include`d pointers, `keys` and `excludeKeys`.
    fn finish_page(
        &self,
        access: &Access,
        class: &str,
        matches: Vec<Arc<Map<String, Value>>>,
        options: &FindOptions,
        limit: usize,
        text: Option<&Query>,
    ) -> Result<Vec<Map<String, Value>>, DataError> {
        let mut results = Vec::with_capacity(limit.min(matches.len()));
        let mut budget = AnswerBudget::new(self.settings.max_response_bytes);
        // `keys=$score` asks for a full-text search's score, answered as `score`.
        let keys = options.keys.as_ref().map(|keys| {
            let asks_score = text.is_some() && keys.split(',').any(|key| key.trim() == "$score");
            (keys.replace("$score", "score"), asks_score)
        });
        let page = matches.get(options.skip.min(matches.len())..).unwrap_or_default();
        let page = &page[..limit.min(page.len())];
        let included = if options.include.is_empty() { Included::default() } else { self.fetch_included(page, &options.include)? };
        for stored in page {
            let mut object = self.present(access, class, stored);
            self.include(access, &mut object, &options.include, &included)?;
            if let Some((keys, asks_score)) = &keys {
                if *asks_score {
                    add_score(&mut object, text.and_then(|query| query.text_score(stored)));
                }
                object = project_keys(&object, keys);
            }
            if let Some(exclude) = &options.exclude_keys {
                for key in exclude.split(',') {
                    object.remove(key.trim());
                }
            }
            budget.take(&object)?;
            results.push(object);
        }
        Ok(results)
    }

    fn resolve_subqueries(&self, access: &Access, query: &mut Query, deadline: &Deadline) -> Result<(), DataError> {
        let subqueries = query.subqueries();
        if subqueries.is_empty() {
            return Ok(());
        }
        let mut answers = Vec::with_capacity(subqueries.len());
        for subquery in subqueries {
            let everything = |class: &str, where_: Value| {
                let where_ = self.permitted_where(access, class, Operation::Find, where_)?;
                let options = FindOptions { where_, limit: Some(usize::MAX), ..FindOptions::default() };
                self.find_all(access, class, &options, deadline)
            };
            answers.push(match subquery {
                Subquery::Ids { class_name, where_ } => SubqueryAnswer::Ids(
                    everything(&class_name, where_)?
                        .iter()
                        .filter_map(|o| o.get("objectId").and_then(Value::as_str).map(str::to_string))
                        .collect(),
                ),
                Subquery::Values { class_name, where_, key } => SubqueryAnswer::Values(
                    everything(&class_name, where_)?.iter().filter_map(|o| o.get(&key).cloned()).collect(),
                ),
                Subquery::Related { owner_class, owner_id, key } => {
                    SubqueryAnswer::Ids(self.store.related(&owner_class, &owner_id, &key)?)
                }
            });
        }
        query.resolve(answers).map_err(DataError::from)
    }

    /// The objectIds of the objects of `class` whose relation `key` holds any of `members`:
    /// what `equalTo`/`containedIn` on a relation field match, as Parse Server answers them
    /// from its join table. The store keeps relations by owner only, so this reads the
    /// relation of every object of the class.
    pub fn relation_owners(&self, class: &str, key: &str, members: &std::collections::HashSet<String>) -> Result<Vec<String>, DataError> {
        validate_class_name(class)?;
        let mut owners = Vec::new();
        try_scan(self.store.as_ref(), class, DataError::from, |object| {
            if let Some(id) = object.get("objectId").and_then(Value::as_str) {
                if self.store.related(class, id, key)?.iter().any(|m| members.contains(m)) {
                    owners.push(id.to_string());
                }
            }
            Ok(true)
        })?;
        Ok(owners)
    }

    /// Every match of a query, ignoring the page limit (for subqueries), within the outer
    /// query's deadline and under the same key rules on its own class.
    fn find_all(&self, access: &Access, class: &str, options: &FindOptions, deadline: &Deadline) -> Result<Matches, DataError> {
        validate_class_name(class)?;
        let mut query = Query::parse(&options.where_)?;
        Self::check_query_keys(access, class, &query, None)?;
        self.resolve_subqueries(access, &mut query, deadline)?;
        let everything = FindOptions { skip: 0, count: false, ..options.clone() };
        if let Some((matches, _)) = self.find_pushed_down(access, class, &query, &Order::default(), &everything, usize::MAX, deadline)? {
            return Ok(matches);
        }
        let mut matches = Vec::new();
        self.scan_matches(access, class, &query, deadline, |object| matches.push(object))?;
        Ok(matches)
    }

    /// Replaces pointers named by `include` paths (`post`, `post.author`) with the objects.
    /// `included` holds what [`Database::fetch_included`] fetched; anything else is a get.
    fn include(&self, access: &Access, object: &mut Map<String, Value>, paths: &[String], included: &Included) -> Result<(), DataError> {
        for path in paths {
            let segments: Vec<&str> = path.split('.').collect();
            self.include_path(access, object, &segments, 0, included)?;
        }
        Ok(())
    }

    fn include_path(&self, access: &Access, object: &mut Map<String, Value>, path: &[&str], depth: usize, included: &Included) -> Result<(), DataError> {
        let Some((first, rest)) = path.split_first() else { return Ok(()) };
        if depth > 8 {
            return Ok(());
        }
        let Some(value) = object.get_mut(*first) else { return Ok(()) };
        let mut targets: Vec<&mut Value> = match value {
            Value::Array(items) => items.iter_mut().collect(),
            other => vec![other],
        };
        for target in targets.iter_mut() {
            let pointer = match target {
                Value::Object(map) if map.get("__type").and_then(Value::as_str) == Some("Pointer") => {
                    let class = map.get("className").and_then(Value::as_str).map(str::to_string);
                    let id = map.get("objectId").and_then(Value::as_str).map(str::to_string);
                    class.zip(id)
                }
                Value::Object(map) if map.get("__type").and_then(Value::as_str) == Some("Object") => {
                    self.include_path(access, map, rest, depth + 1, included)?;
                    None
                }
                _ => None,
            };
            let Some((class, id)) = pointer else { continue };
            if validate_class_name(&class).is_err()
                || protected::check_class(access.master, &class, "get").is_err()
                || !self.may_include(access, &class, &id)
            {
                continue;
            }
            let found = match included.get(&class, &id) {
                Some(found) => found,
                None => self.store.get(&class, &id)?,
            };
            let Some(found) = found else { continue };
            if !access.can_read(&found) {
                continue;
            }
            let mut full = self.present(access, &class, &found);
            self.include_path(access, &mut full, rest, depth + 1, included)?;
            full.insert("__type".into(), Value::String("Object".into()));
            full.insert("className".into(), Value::String(class));
            **target = Value::Object(full);
        }
        Ok(())
    }

    /// Checks a create and computes the object beforeSave will see.
    pub fn prepare_create(&self, access: &Access, class: &str, body: Map<String, Value>) -> Result<PreparedSave, DataError> {
        validate_class_name(class)?;
        if !access.master && !self.settings.allow_client_class_creation && !self.class_exists(class) {
            return Err(DataError::ClassCreationForbidden(class.to_owned()));
        }
        let body = normalize_body(class, body)?;
        self.check_schema(class, &body)?;
        let mut proposed = Map::new();
        apply_update(&mut proposed, &body)?;
        check_nesting(&proposed)?;
        Ok(PreparedSave {
            class_name: class.to_string(),
            object_id: None,
            original: None,
            client_body: body.clone(),
            body,
            proposed,
            internal: Map::new(),
            assigned_id: None,
            deferred_sync: false,
        })
    }

    /// Checks an update (the object exists and `access` may write it) and computes the object
    /// beforeSave will see.
    pub fn prepare_update(&self, access: &Access, class: &str, id: &str, body: Map<String, Value>) -> Result<PreparedSave, DataError> {
        validate_class_name(class)?;
        let original = self.store.get(class, id)?.ok_or(DataError::ObjectNotFound)?;
        if !access.can_write(&original) {
            return Err(DataError::ObjectNotFound);
        }
        let body = normalize_body(class, body)?;
        self.check_schema(class, &body)?;
        let mut proposed = (*original).clone();
        apply_update(&mut proposed, &body)?;
        check_nesting(&proposed)?;
        protected::strip_hidden(&mut proposed, Reader::Master);
        Ok(PreparedSave {
            class_name: class.to_string(),
            object_id: Some(id.to_string()),
            original: Some(original),
            client_body: body.clone(),
            body,
            proposed,
            internal: Map::new(),
            assigned_id: None,
            deferred_sync: false,
        })
    }

    /// An update applied to the stored object: read, apply, compare-and-set, under the object's
    /// stripe lock, so concurrent `Increment`s of one object each apply to the latest value.
    fn read_modify_write(
        &self,
        prepared: &PreparedSave,
        id: &str,
        now: &str,
    ) -> Result<(Map<String, Value>, RelationChanges), DataError> {
        let class = prepared.class_name.as_str();
        let _stripe = self.stripes[stripe_of(class, id)].lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let current = self.store.get(class, id)?.ok_or(DataError::ObjectNotFound)?;
            let mut object = (*current).clone();
            let relations = apply_update(&mut object, &prepared.body)?;
            object.extend(prepared.internal.clone());
            object.insert("objectId".into(), Value::String(id.to_owned()));
            object.insert("updatedAt".into(), Value::String(now.to_owned()));
            let mut claims = self.claims_for(class)?;
            if let Some(claims) = claims.as_mut() {
                claims.check(&object, Some(id))?;
            }
            let linking = match class {
                unique::USER => auth_data::newly_linked(&current, &object),
                _ => Vec::new(),
            };
            let mut index = self.index_write(class);
            match self.store.update_linking(class, id, object.clone(), Some(&current), &linking) {
                Ok(()) => {
                    if let Some(index) = index.as_mut() {
                        index.changed(Some(&current), Some(&object));
                    }
                    if let Some(claims) = claims.as_mut() {
                        claims.record(Some(&current), Some(&object));
                    }
                    return Ok((object, relations));
                }
                // Another process sharing the store wrote the object between this read and this
                // write: the update is applied again to what it stored, so that `Increment`s on
                // two nodes both count.
                Err(StoreError::Conflict) => continue,
                Err(StoreError::NotFound) => return Err(DataError::ObjectNotFound),
                Err(error) => return Err(DataError::from(error)),
            }
        }
    }

    /// Writes a prepared save. Durable when it returns, unless the save's sync was deferred.
    pub fn commit(&self, mut prepared: PreparedSave) -> Result<SavedObject, DataError> {
        self.apply_field_rules(&mut prepared)?;
        let class = prepared.class_name.as_str();
        let mut role_write = self.check_role_write(&prepared)?;
        self.extend_schema(class, &prepared.body)?;
        if let Some(role_write) = role_write.as_mut() {
            role_write.touching();
        }
        let now = ids::now_iso();
        let (stored, relations) = match &prepared.object_id {
            None => {
                let mut object = prepared.proposed.clone();
                let relations = relations_of(&prepared.body)?;
                let mut claims = self.claims_for(class)?;
                if let Some(claims) = claims.as_mut() {
                    claims.check(&object, None)?;
                }
                self.insert_new(class, &mut object, &prepared.internal, &now, prepared.assigned_id.clone())?;
                if let Some(claims) = claims.as_mut() {
                    claims.record(None, Some(&object));
                }
                (object, relations)
            }
            Some(id) => match self.update_in_place(&prepared, id, &now)? {
                Some(saved) => saved,
                None => self.read_modify_write(&prepared, id, &now)?,
            },
        };
        let stored_id = stored.get("objectId").and_then(Value::as_str).unwrap_or_default().to_string();
        for (key, related) in &relations.add {
            self.store.relation_add(class, &stored_id, key, related)?;
        }
        for (key, related) in &relations.remove {
            self.store.relation_remove(class, &stored_id, key, related)?;
        }
        if let Some(role_write) = role_write {
            role_write.saved(&stored_id, &stored, &relations);
        }
        if !prepared.deferred_sync {
            self.sync()?;
        }

        let mut response = Map::new();
        if prepared.is_new() {
            response.insert("objectId".into(), Value::String(stored_id));
            response.insert("createdAt".into(), stored.get("createdAt").cloned().unwrap_or(Value::Null));
        } else {
            response.insert("updatedAt".into(), Value::String(now));
        }
        for (key, value) in &prepared.body {
            let changed_by_trigger = prepared.client_body.get(key) != Some(value);
            if is_relation_op(value) || !(is_op(value) || changed_by_trigger) {
                continue;
            }
            if key.contains('.') {
                answer_on_key_path(&mut response, key, value, &stored);
                continue;
            }
            let answer = match stored.get(key) {
                Some(stored) => stored.clone(),
                None => serde_json::json!({"__op": "Delete"}),
            };
            response.insert(key.clone(), answer);
        }
        let mut object = stored;
        protected::strip_hidden(&mut object, Reader::Master);
        Ok(SavedObject { object, response })
    }

    /// The in-memory indexes locked for a write of `class`; None on a store other nodes share,
    /// where queries never use them (the other nodes' writes would be missing) and holding the
    /// lock across a database round trip would only make this node's writes wait on each other.
    pub(super) fn index_write<'a>(&'a self, class: &'a str) -> Option<IndexWrite<'a>> {
        self.store.nodes().is_none().then(|| self.indexes.write(class))
    }

    /// Inserts under the assigned objectId, or a fresh one (drawn again on the rare collision).
    fn insert_new(
        &self,
        class: &str,
        object: &mut Map<String, Value>,
        internal: &Map<String, Value>,
        now: &str,
        mut assigned: Option<String>,
    ) -> Result<(), DataError> {
        object.extend(internal.clone());
        object.insert("createdAt".into(), Value::String(now.to_string()));
        object.insert("updatedAt".into(), Value::String(now.to_string()));
        let chosen = assigned.is_some();
        loop {
            let id = assigned.take().unwrap_or_else(ids::new_object_id);
            object.insert("objectId".into(), Value::String(id.clone()));
            let mut index = self.index_write(class);
            let inserted = match class {
                unique::USER => self.store.insert_linking(class, &id, object.clone(), &auth_data::ids_of(object)),
                _ => self.store.insert(class, &id, object.clone()),
            };
            match inserted {
                Ok(()) => {
                    if let Some(index) = index.as_mut() {
                        index.changed(None, Some(object));
                    }
                    return Ok(());
                }
                // A drawn id that collided is drawn again; an id the caller chose (the one
                // `_GlobalConfig` row another node created meanwhile) is not silently changed.
                Err(StoreError::Duplicate) if !chosen => continue,
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// Checks a delete: the object exists and `access` may write it. Answers the object.
    pub fn prepare_delete(&self, access: &Access, class: &str, id: &str) -> Result<Arc<Map<String, Value>>, DataError> {
        validate_class_name(class)?;
        let object = self.store.get(class, id)?.ok_or(DataError::ObjectNotFound)?;
        if !access.can_write(&object) {
            return Err(DataError::ObjectNotFound);
        }
        Ok(object)
    }

    /// Deletes an object checked by [`prepare_delete`](Self::prepare_delete). Durable when it returns.
    pub fn delete(&self, class: &str, id: &str) -> Result<(), DataError> {
        self.delete_unsynced(class, id)?;
        self.sync()
    }

    /// [`delete`](Self::delete) without the sync, which the caller owes before answering.
    pub fn delete_unsynced(&self, class: &str, id: &str) -> Result<(), DataError> {
        let mut role_write = (class == roles::ROLE).then(|| self.roles.writing(&*self.store));
        if let Some(role_write) = role_write.as_mut() {
            role_write.touching();
        }
        let mut claims = self.claims_for(class)?;
        let mut index = self.index_write(class);
        match self.store.delete(class, id) {
            Ok(Some(old)) => {
                if let Some(index) = index.as_mut() {
                    index.changed(Some(&old), None);
                }
                if let Some(claims) = claims.as_mut() {
                    claims.record(Some(&old), None);
                }
                drop(index);
                drop(claims);
                if let Some(role_write) = role_write {
                    role_write.deleted(id);
                }
                Ok(())
            }
            Ok(None) | Err(StoreError::NotFound) => Err(DataError::ObjectNotFound),
            Err(error) => Err(error.into()),
        }
    }

    /// The names of every role `user_id` holds, inherited ones included.
    pub fn role_names(&self, user_id: Option<&str>) -> Arc<[String]> {
        self.roles.names_of(user_id)
    }

    /// For a `_Role` save, checks Parse's role rules and a new name's uniqueness (137) before
    /// anything is written, and answers the role write lock, through which the save keeps the
    /// role graph current.
    fn check_role_write(&self, prepared: &PreparedSave) -> Result<Option<roles::RoleWrite<'_>>, DataError> {
        if prepared.class_name != roles::ROLE {
            return Ok(None);
        }
        roles::check_write(prepared.original.as_deref(), &prepared.body, &prepared.proposed)?;
        let write = self.roles.writing(&*self.store);
        if prepared.is_new() && write.name_taken(&prepared.proposed) {
            return Err(DataError::DuplicateRoleName);
        }
        Ok(Some(write))
    }

    /// The object without hidden fields, for trigger requests and responses.
    pub fn visible(&self, object: &Map<String, Value>) -> Map<String, Value> {
        let mut out = object.clone();
        protected::strip_hidden(&mut out, Reader::Master);
        out
    }

    /// The `_User` claims, locked, when `class` is `_User`: a user write checks and records
    /// its username and email under this lock, so two writers cannot both claim one.
    fn claims_for(&self, class: &str) -> Result<Option<ClaimsGuard<'_>>, DataError> {
        if class != unique::USER {
            return Ok(None);
        }
        Ok(Some(self.user_keys.lock(&*self.store)))
    }

    /// Refuses a user body whose username or email another user holds (202 / 203), before
    /// any trigger runs; [`commit`](Self::commit) checks again under the lock.
    pub fn check_user_keys(&self, body: &Map<String, Value>, own_id: Option<&str>) -> Result<(), DataError> {
        self.user_keys.lock(&*self.store).check(body, own_id)
    }

    /// The objectId of the user whose `field` (`username` or `email`) is `value`, compared
    /// case-insensitively.
    pub fn user_id_by(&self, field: &'static str, value: &str) -> Result<Option<String>, DataError> {
        self.user_keys.lock(&*self.store).holder(field, value).map_err(DataError::from)
    }

    /// The objectId of the user linked to identity `id` of authData `provider`.
    pub fn user_id_by_auth_data(&self, provider: &str, id: &str) -> Result<Option<String>, DataError> {
        self.user_keys.lock(&*self.store).auth_data_holder(provider, id).map_err(DataError::from)
    }

    fn schema_for(&self, class: &str) -> Result<ClassSchema, DataError> {
        match self.schemas.read().unwrap_or_else(|p| p.into_inner()).get(class) {
            Some(schema) => Ok(schema.clone()),
            None => ClassSchema::new(class),
        }
    }

    /// [`ClassSchema::check`] of `body` against the class's schema, read in place: a class's
    /// schema is copied only by a write that extends it.
    pub(super) fn check_schema(&self, class: &str, body: &Map<String, Value>) -> Result<Vec<(String, schema::FieldType)>, DataError> {
        match self.schemas.read().unwrap_or_else(|p| p.into_inner()).get(class) {
            Some(schema) => schema.check(body),
            None => ClassSchema::new(class)?.check(body),
        }
    }

    /// Records the types of new fields (first write wins; a different type later is 111).
    fn extend_schema(&self, class: &str, fields: &Map<String, Value>) -> Result<(), DataError> {
        let _guard = self.schema_writes.lock().unwrap_or_else(|p| p.into_inner());
        if self.check_schema(class, fields)?.is_empty() && self.class_exists(class) {
            return Ok(());
        }
        let mut schema = self.schema_for(class)?;
        schema.check_and_extend(fields)?;
        if self.store.nodes().is_some() {
            // Another node may have added fields since this one read the schema: extend the
            // stored schema, not this node's copy, so that theirs are kept.
            schema = other_nodes::stored_schema(&*self.store, class)?.map_or_else(|| ClassSchema::new(class), Ok)?;
            schema.check_and_extend(fields)?;
        }
        self.store.put_schema(class, schema.to_json())?;
        if self.store.nodes().is_some() {
            // The store kept the fields another node stored meanwhile (its note may even have
            // been read before this write ended): this node's copy is what was stored.
            schema = other_nodes::stored_schema(&*self.store, class)?.unwrap_or(schema);
        }
        self.schemas.write().unwrap_or_else(|p| p.into_inner()).insert(class.to_string(), schema);
        Ok(())
    }
}

/// The candidates `access` may read and `query` matches, checking the deadline as it goes.
fn matching(
    access: &Access,
    query: &Query,
    candidates: Matches,
    deadline: &Deadline,
) -> Result<Matches, DataError> {
    let mut matches = Vec::new();
    for (i, object) in candidates.into_iter().enumerate() {
        if i % CHECK_EVERY == 0 {
            deadline.check()?;
        }
        if access.can_read(&object) && query.matches(&object) {
            matches.push(object);
        }
    }
    Ok(matches)
}

/// Puts the first `wanted` matches in the asked order (by distance for `$nearSphere` without
/// `order`, else the natural order) and drops the rest.
fn sort_page(matches: &mut Matches, query: &Query, order: &Order, wanted: usize) {
    let wanted = wanted.min(matches.len());
    let near = query.near_sphere();
    let compare = |a: &Arc<Map<String, Value>>, b: &Arc<Map<String, Value>>| -> Ordering {
        if !order.is_empty() {
            return order.compare(a, b).then_with(|| natural(a, b));
        }
        if near.is_some() {
            let da = query.near_distance(a).unwrap_or(f64::INFINITY);
            let db = query.near_distance(b).unwrap_or(f64::INFINITY);
            return da.partial_cmp(&db).unwrap_or(Ordering::Equal);
        }
        natural(a, b)
    };
    if wanted == 0 {
        matches.clear();
    } else if wanted < matches.len() {
        matches.select_nth_unstable_by(wanted - 1, compare);
        matches.truncate(wanted);
    }
    matches.sort_by(compare);
}

/// The order without its `$score` keys, and whether it had one: `$score` orders a full-text
/// search by its score, best first whichever way it is written (MongoDB's textScore sort).
fn text_score_order(order: &str) -> (String, bool) {
    let mut by_score = false;
    let rest: Vec<&str> = order
        .split(',')
        .filter(|key| {
            let is_score = matches!(key.trim(), "$score" | "-$score");
            by_score |= is_score;
            !is_score
        })
        .collect();
    (rest.join(","), by_score)
}

/// Best score first, then the rest of the order, then the natural order.
fn sort_by_text_score(matches: &mut Matches, query: &Query, order: &Order) {
    matches.sort_by(|a, b| {
        let (sa, sb) = (query.text_score(a).unwrap_or(0.0), query.text_score(b).unwrap_or(0.0));
        sb.partial_cmp(&sa).unwrap_or(Ordering::Equal).then_with(|| order.compare(a, b)).then_with(|| natural(a, b))
    });
}

/// Default order when none is asked for: oldest first, as MongoDB's natural order. Runs for
/// every comparison of a sort, so it borrows instead of allocating.
fn natural(a: &Map<String, Value>, b: &Map<String, Value>) -> Ordering {
    fn field<'a>(object: &'a Map<String, Value>, key: &str) -> &'a str {
        object.get(key).and_then(Value::as_str).unwrap_or("")
    }
    field(a, "createdAt")
        .cmp(field(b, "createdAt"))
        .then_with(|| field(a, "objectId").cmp(field(b, "objectId")))
}

/// A client's body as it will be applied: server-kept fields dropped, the ACL validated and
/// normalised to its `true` grants (as Parse stores it).
fn normalize_body(class: &str, mut body: Map<String, Value>) -> Result<Map<String, Value>, DataError> {
    // A REST body may echo its class; only `_Hooks` has a real `className` field.
    body.retain(|key, _| !schema::is_server_kept(key) || (key == "className" && class == "_Hooks"));
    if let Some(acl) = body.get_mut("ACL").filter(|acl| acl.is_object()) {
        *acl = Acl::parse(acl)?.to_json();
    }
    body.values_mut().for_each(close_polygon_ring);
    Ok(body)
}

/// The answer for an op on a nested key (`a.b.c`), as Parse Server words it: the result nested
/// under the top-level field (`{"a": {"b": {"c": 20}}}`), never the dotted key itself, which the
/// SDK would take for a field of that name. An unset nested key answers nothing: the SDK already
/// knows the value is gone.
fn answer_on_key_path(response: &mut Map<String, Value>, key: &str, op: &Value, stored: &Map<String, Value>) {
    if op.get("__op").and_then(Value::as_str) == Some("Delete") {
        return;
    }
    let path: Vec<&str> = key.split('.').collect();
    let Some(result) = stored.get(path[0]).and_then(|first| path[1..].iter().try_fold(first, |at, segment| at.get(*segment)))
    else {
        return;
    };
    let mut slot = response.entry(path[0].to_string()).or_insert_with(|| Value::Object(Map::new()));
    for segment in &path[1..path.len() - 1] {
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        slot = slot
            .as_object_mut()
            .expect("made an object above")
            .entry(segment.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
        .expect("made an object above")
        .insert(path[path.len() - 1].to_string(), result.clone());
}

fn is_op(value: &Value) -> bool {
    value.as_object().is_some_and(|m| m.contains_key("__op"))
}

fn is_relation_op(value: &Value) -> bool {
    matches!(
        value.get("__op").and_then(Value::as_str),
        Some("AddRelation") | Some("RemoveRelation")
    )
}

/// The relation changes a body's AddRelation/RemoveRelation ops ask for.
fn relations_of(body: &Map<String, Value>) -> Result<RelationChanges, DataError> {
    let mut scratch = Map::new();
    apply_update(&mut scratch, body)
}

