//! Queries the store answers itself (PostgreSQL in one SQL statement), for a `where` and
//! `order` that translate exactly (see [`Query::store_filter`]) and a reader whose only
//! restriction beyond them is the ACL. Everything else falls through to the indexes and the
//! scan, so an answer never depends on which path served it.

use super::{matching, Access, Database, DataError, FindOptions, Matches};
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
        if query.object_id_equality().is_some() || query.has_text_search() || query.near_sphere().is_some() {
            return Ok(None);
        }
        let (Some(filter), Some(order)) = (query.store_filter(), order.store_order()) else { return Ok(None) };
        let store_query = StoreQuery { filter, readers: readers(access), order, skip: options.skip, limit, count: options.count };
        let Some(page) = self.store.find(class, &store_query)? else { return Ok(None) };
        Ok(Some((matching(access, query, page.documents, deadline)?, page.count)))
    }
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
