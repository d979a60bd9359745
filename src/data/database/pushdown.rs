//! Queries the store answers itself (PostgreSQL in one SQL statement), for a `where` and
//! `order` that translate exactly (see [`Query::store_filter`]) and a reader whose only
//! restriction beyond them is the ACL. Everything else falls through to the indexes and the
//! scan, so an answer never depends on which path served it.

use super::{matching, Access, Database, DataError, FindOptions, Found, Matches};
use crate::data::deadline::Deadline;
use crate::data::query::{Order, Query};
use crate::store::StoreQuery;

impl Database {
    /// The page (`skip` already applied) and count of a query the store answers, each object
    /// still checked against the query and the ACL as a scan would; None when the store
    /// cannot. An `objectId` equality stays a get; a `$nearSphere` orders by distance, which
    /// no store is asked.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn find_pushed_down(
        &self,
        access: &Access,
        class: &str,
        query: &Query,
        order: &Order,
        options: &FindOptions,
        limit: usize,
        deadline: &Deadline,
    ) -> Result<Option<(Matches, Option<usize>)>, DataError> {
        let Some(store_query) = store_query(access, query, order, options, limit) else { return Ok(None) };
        let Some(page) = self.store.find(class, &store_query)? else { return Ok(None) };
        Ok(Some((matching(access, query, page.documents, deadline)?, page.count)))
    }

    /// [`Database::find`] awaited in place, for a query the store answers by waiting on its
    /// database server (see [`crate::store::Store::find_awaiting`]): one statement (or the get
    /// of an `objectId` equality), no subquery, text search, `include` or count, which would
    /// ask the store more. None: the caller runs `find` on a blocking thread, which answers
    /// the same.
    pub async fn find_awaiting(&self, access: &Access, class: &str, options: &FindOptions) -> Option<Result<Found, DataError>> {
        if !options.include.is_empty() || options.count {
            return None;
        }
        let (query, order, _, deadline) = match self.parse_find(access, class, options) {
            Ok(parsed) => parsed,
            Err(error) => return Some(Err(error)),
        };
        if !query.subqueries().is_empty() || query.has_text_search() {
            return None;
        }
        let limit = options.limit.unwrap_or(100).min(self.settings.max_limit);
        let (candidates, options) = match query.object_id_equality() {
            Some(id) => match self.store.get_awaiting(class, id)?.await {
                Ok(object) => (object.into_iter().collect(), options.clone()),
                Err(error) => return Some(Err(error.into())),
            },
            None => {
                let store_query = store_query(access, &query, &order, options, limit)?;
                let found = self.store.find_awaiting(class, &store_query)?.await;
                match found {
                    // The store applied `skip`.
                    Ok(page) => (page?.documents, FindOptions { skip: 0, ..options.clone() }),
                    Err(error) => return Some(Err(error.into())),
                }
            }
        };
        let finished = matching(access, &query, candidates, &deadline).and_then(|page| self.finish_page(access, class, page, &options, limit, None));
        Some(finished.map(|results| (results, None)))
    }
}

/// The query as the store is asked it; None when the store is not asked (an `objectId`
/// equality stays a get, a text search is scored and a `$nearSphere` ordered by distance here,
/// and a `where` or `order` that does not translate exactly).
fn store_query(access: &Access, query: &Query, order: &Order, options: &FindOptions, limit: usize) -> Option<StoreQuery> {
    if query.object_id_equality().is_some() || query.has_text_search() || query.near_sphere().is_some() {
        return None;
    }
    let (filter, order) = (query.store_filter()?, order.store_order()?);
    Some(StoreQuery { filter, readers: readers(access), order, skip: options.skip, limit, count: options.count })
}

/// The principals whose ACL grants let `access` read: the public, the user, each role; None
/// for the master key, which reads everything.
fn readers(access: &Access) -> Option<Vec<String>> {
    if access.master {
        return None;
    }
    let mut readers = vec![crate::data::acl::PUBLIC.to_owned()];
    readers.extend(access.user_id.clone());
    readers.extend(access.roles.iter().map(|role| format!("{}{role}", crate::data::acl::ROLE_PREFIX)));
    Some(readers)
}
