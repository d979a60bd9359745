//! Parse files kept in the database, so that every node sharing it serves every file: a table
//! of cloudrt's own (Parse Server keeps files in a files adapter, not in its tables), made on
//! the first upload under the DDL lock every node takes. A file is a row per megabyte, written
//! in one transaction and read in one snapshot, so neither side holds a whole file in memory
//! and no reader sees half of one.

use std::path::Path;
use std::sync::PoisonError;

use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio_postgres::IsolationLevel;

use super::{params, prepare_unless_no_table, PostgresStore};
use crate::store::files::SharedFiles;
use crate::store::StoreError;

/// Bytes per row.
const PART: usize = 1 << 20;

const CREATE_TABLE: &str = r#"CREATE TABLE IF NOT EXISTS "_cloudrt_files" ("name" text, "part" integer, "contentType" text NOT NULL, "data" bytea NOT NULL, PRIMARY KEY ("name", "part"))"#;
const INSERT: &str = r#"INSERT INTO "_cloudrt_files" ("name", "part", "contentType", "data") VALUES ($1, $2, $3, $4)"#;
const CONTENT_TYPE: &str = r#"SELECT "contentType" FROM "_cloudrt_files" WHERE "name" = $1 AND "part" = 0"#;
const SELECT_PART: &str = r#"SELECT "data" FROM "_cloudrt_files" WHERE "name" = $1 AND "part" = $2"#;
const DELETE: &str = r#"DELETE FROM "_cloudrt_files" WHERE "name" = $1"#;

/// What a copy answers: `Ok(None)` when the table does not exist yet; an I/O error of the local
/// file apart from the database's.
type Copied<T> = Result<Option<T>, std::io::Error>;

impl PostgresStore {
    /// Copies `source` past `skip` into the rows of `name`, replacing any; None without a table.
    fn copy_in(&self, name: &str, content_type: &str, source: &Path, skip: u64) -> Result<Copied<()>, StoreError> {
        let (name, content_type, source) = (name.to_owned(), content_type.to_owned(), source.to_path_buf());
        self.connections.run(move |mut client| {
            let (name, content_type, source) = (name.clone(), content_type.clone(), source.clone());
            async move {
                if prepare_unless_no_table(&client, DELETE).await?.is_none() {
                    return Ok(Ok(None));
                }
                let transaction = client.transaction().await?;
                transaction.execute(DELETE, &[&name]).await?;
                let mut file = match open_at(&source, skip).await {
                    Ok(file) => file,
                    Err(e) => return Ok(Err(e)),
                };
                // At least one row, which carries the content type even of an empty file.
                for part in 0_i32.. {
                    let bytes = match read_part(&mut file).await {
                        Ok(bytes) => bytes,
                        Err(e) => return Ok(Err(e)),
                    };
                    if bytes.is_empty() && part > 0 {
                        break;
                    }
                    let last = bytes.len() < PART;
                    transaction.execute(INSERT, &[&name, &part, &content_type, &bytes]).await?;
                    if last {
                        break;
                    }
                }
                transaction.commit().await?;
                Ok(Ok(Some(())))
            }
        })
    }

    /// Copies the rows of `name` into a new `target`; its content type, None when there is none.
    fn copy_out(&self, name: &str, target: &Path) -> Result<Copied<Option<String>>, StoreError> {
        let (name, target) = (name.to_owned(), target.to_path_buf());
        self.connections.run(move |mut client| {
            let (name, target) = (name.clone(), target.clone());
            async move {
                if prepare_unless_no_table(&client, CONTENT_TYPE).await?.is_none() {
                    return Ok(Ok(None));
                }
                let transaction =
                    client.build_transaction().isolation_level(IsolationLevel::RepeatableRead).read_only(true).start().await?;
                let Some(row) = transaction.query_opt(CONTENT_TYPE, &[&name]).await? else { return Ok(Ok(Some(None))) };
                let content_type: String = row.try_get(0)?;
                let mut file = match tokio::fs::File::create(&target).await {
                    Ok(file) => file,
                    Err(e) => return Ok(Err(e)),
                };
                for part in 0_i32.. {
                    let Some(row) = transaction.query_opt(SELECT_PART, &[&name, &part]).await? else { break };
                    let bytes: Vec<u8> = row.try_get(0)?;
                    if let Err(e) = file.write_all(&bytes).await {
                        return Ok(Err(e));
                    }
                }
                if let Err(e) = file.flush().await {
                    return Ok(Err(e));
                }
                transaction.commit().await?;
                Ok(Ok(Some(Some(content_type))))
            }
        })
    }

    fn create_files_table(&self) -> Result<(), StoreError> {
        let _ddl = self.ddl.lock().unwrap_or_else(PoisonError::into_inner);
        self.transaction(vec![Self::ddl_lock(), (CREATE_TABLE.to_owned(), params(vec![]))])
    }
}

async fn open_at(path: &Path, skip: u64) -> Result<tokio::fs::File, std::io::Error> {
    let mut file = tokio::fs::File::open(path).await?;
    file.seek(std::io::SeekFrom::Start(skip)).await?;
    Ok(file)
}

/// The next [`PART`] bytes of `file`, fewer only at its end.
async fn read_part(file: &mut tokio::fs::File) -> Result<Vec<u8>, std::io::Error> {
    let mut bytes = Vec::with_capacity(PART);
    AsyncReadExt::take(&mut *file, PART as u64).read_to_end(&mut bytes).await?;
    Ok(bytes)
}

fn local(error: std::io::Error) -> StoreError {
    StoreError::Io(format!("file copy: {error}"))
}

impl SharedFiles for PostgresStore {
    fn put_file(&self, name: &str, content_type: &str, source: &Path, skip: u64) -> Result<(), StoreError> {
        if self.copy_in(name, content_type, source, skip)?.map_err(local)?.is_some() {
            return Ok(());
        }
        self.create_files_table()?;
        match self.copy_in(name, content_type, source, skip)?.map_err(local)? {
            Some(()) => Ok(()),
            None => Err(StoreError::Io("the files table is missing".into())),
        }
    }

    fn file_into(&self, name: &str, target: &Path) -> Result<Option<String>, StoreError> {
        Ok(self.copy_out(name, target)?.map_err(local)?.flatten())
    }

    fn delete_file(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self.execute(DELETE.to_owned(), params(vec![super::text(name)]))?.is_some_and(|deleted| deleted > 0))
    }
}
