//! Parse files on disk: one file per stored name under `<data-dir>/files/`, its content type in
//! a short header line before the bytes, so that bytes and type are written, renamed and
//! deleted together and a crash can never leave one without the other.
//!
//! An upload is written to a hidden temporary file as it arrives (never whole in memory),
//! fsynced, then renamed to its final name and the directory fsynced: a file is either absent
//! or complete and durable. Temporary files a crash left behind are removed at start-up.
//!
//! Several nodes on one database cannot serve each other's disks: there the files are kept in
//! the database ([`SharedFiles`]). An upload still arrives in a temporary file and is copied
//! into the database when finished; a download is copied out into an unlinked temporary file.
//! Both copies go piece by piece, so a large file is never whole in memory either.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt, BufReader};

/// The first line of every stored file; the second is its content type.
const MAGIC: &str = "cloudrt-file 1\n";
/// Uploads in progress start with this; stored names never do (they start with a hex digit).
const UPLOAD_PREFIX: &str = ".upload-";
/// Longest content type kept; the header line is read back within this bound.
pub const MAX_CONTENT_TYPE: usize = 255;

/// Why a file operation failed.
#[derive(Debug, thiserror::Error)]
pub enum FileStoreError {
    #[error("file storage I/O failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("stored file {0} is corrupt")]
    Corrupt(String),
    #[error("file storage failed: {0}")]
    Shared(#[from] super::StoreError),
}

/// Files kept where every node sharing a database reads them (the database itself): a name,
/// its content type and its bytes. Blocking calls.
pub trait SharedFiles: Send + Sync {
    /// Stores (replacing, at once) the file `name`: the bytes of `source` past its first `skip`.
    fn put_file(&self, name: &str, content_type: &str, source: &Path, skip: u64) -> Result<(), super::StoreError>;
    /// Writes the bytes of `name` into a new file `target` and answers its content type; None
    /// (and `target` perhaps left empty) when there is no such file.
    fn file_into(&self, name: &str, target: &Path) -> Result<Option<String>, super::StoreError>;
    /// Deletes `name`; `false` when there was none.
    fn delete_file(&self, name: &str) -> Result<bool, super::StoreError>;
}

/// The `files` directory of the data directory, and the shared files when there are.
#[derive(Clone)]
pub struct FileStore {
    dir: PathBuf,
    shared: Option<Arc<dyn SharedFiles>>,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore").field("dir", &self.dir).field("shared", &self.shared.is_some()).finish()
    }
}

/// Runs a blocking call of the shared files off the async threads.
async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, super::StoreError> + Send + 'static,
) -> Result<T, FileStoreError> {
    Ok(tokio::task::spawn_blocking(call).await.map_err(|e| std::io::Error::other(e.to_string()))??)
}

impl FileStore {
    /// Opens (creating) `<data_dir>/files` and removes uploads a crash interrupted; with
    /// `shared`, files are kept there and the directory holds only files in transit.
    pub fn open(data_dir: &Path, shared: Option<Arc<dyn SharedFiles>>) -> Result<FileStore, FileStoreError> {
        let dir = data_dir.join("files");
        std::fs::create_dir_all(&dir)?;
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with(UPLOAD_PREFIX) {
                std::fs::remove_file(entry.path())?;
            }
        }
        Ok(FileStore { dir, shared })
    }

    /// Starts writing a new file of type `content_type` (at most [`MAX_CONTENT_TYPE`] bytes,
    /// one line: the caller checks it).
    pub async fn begin(&self, content_type: &str) -> Result<Upload, FileStoreError> {
        let path = self.dir.join(format!("{UPLOAD_PREFIX}{:032x}", rand::random::<u128>()));
        let mut file = tokio::fs::File::create(&path).await?;
        let upload_guard = RemoveOnDrop(Some(path));
        file.write_all(format!("{MAGIC}{content_type}\n").as_bytes()).await?;
        Ok(Upload { file, temp: upload_guard, len: 0, content_type: content_type.to_owned() })
    }

    /// The stored file `name` with its type and length, positioned at its first byte; `None`
    /// when there is none. `name` must be a valid stored name (no `/`, no leading `.`).
    pub async fn open_file(&self, name: &str) -> Result<Option<StoredFile>, FileStoreError> {
        if let Some(shared) = self.shared.clone() {
            let path = self.dir.join(format!("{UPLOAD_PREFIX}{:032x}", rand::random::<u128>()));
            let guard = RemoveOnDrop(Some(path.clone()));
            let (owned, target) = (name.to_owned(), path.clone());
            let Some(content_type) = blocking(move || shared.file_into(&owned, &target)).await? else { return Ok(None) };
            let file = tokio::fs::File::open(&path).await?;
            let len = file.metadata().await?.len();
            // An open file outlives its name: the copy goes when the reader is done with it.
            drop(guard);
            return Ok(Some(StoredFile { file, content_type, len }));
        }
        let file = match tokio::fs::File::open(self.dir.join(name)).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let total = file.metadata().await?.len();
        let mut head = Vec::with_capacity(MAGIC.len() + MAX_CONTENT_TYPE + 1);
        let mut reader = BufReader::new(file).take((MAGIC.len() + MAX_CONTENT_TYPE + 1) as u64);
        reader.read_to_end(&mut head).await?;
        let corrupt = || FileStoreError::Corrupt(name.to_string());
        let rest = head.strip_prefix(MAGIC.as_bytes()).ok_or_else(corrupt)?;
        let end = rest.iter().position(|b| *b == b'\n').ok_or_else(corrupt)?;
        let content_type = String::from_utf8(rest[..end].to_vec()).map_err(|_| corrupt())?;
        let offset = (MAGIC.len() + end + 1) as u64;
        let mut file = reader.into_inner().into_inner();
        file.seek(SeekFrom::Start(offset)).await?;
        Ok(Some(StoredFile { file, content_type, len: total - offset }))
    }

    /// Deletes `name`; `false` when there was no such file.
    pub async fn delete(&self, name: &str) -> Result<bool, FileStoreError> {
        if let Some(shared) = self.shared.clone() {
            let owned = name.to_owned();
            return blocking(move || shared.delete_file(&owned)).await;
        }
        match tokio::fs::remove_file(self.dir.join(name)).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e.into()),
        }
        sync_dir(&self.dir).await?;
        Ok(true)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// A file being written; dropped unfinished, its temporary file is removed.
#[derive(Debug)]
pub struct Upload {
    file: tokio::fs::File,
    temp: RemoveOnDrop,
    len: u64,
    content_type: String,
}

impl Upload {
    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), FileStoreError> {
        self.file.write_all(bytes).await?;
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Makes the file durable under `name` in `store`.
    pub async fn finish(mut self, store: &FileStore, name: &str) -> Result<(), FileStoreError> {
        self.file.flush().await?;
        if let Some(shared) = store.shared.clone() {
            let path = self.temp.0.clone().expect("an unfinished upload has its temporary file");
            let header = (MAGIC.len() + self.content_type.len() + 1) as u64;
            let (name, content_type) = (name.to_owned(), std::mem::take(&mut self.content_type));
            return blocking(move || shared.put_file(&name, &content_type, &path, header)).await;
        }
        self.file.sync_all().await?;
        let temp = self.temp.0.take().expect("an unfinished upload has its temporary file");
        if let Err(e) = tokio::fs::rename(&temp, store.path(name)).await {
            let _ = std::fs::remove_file(&temp);
            return Err(e.into());
        }
        sync_dir(&store.dir).await?;
        Ok(())
    }
}

#[derive(Debug)]
struct RemoveOnDrop(Option<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A stored file opened for reading at its first byte.
#[derive(Debug)]
pub struct StoredFile {
    pub file: tokio::fs::File,
    pub content_type: String,
    pub len: u64,
}

/// Makes a rename or removal in `dir` durable.
async fn sync_dir(dir: &Path) -> Result<(), FileStoreError> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || std::fs::File::open(dir)?.sync_all())
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))??;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cloudrt-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[tokio::test]
    async fn a_finished_upload_reads_back_with_its_type() {
        let dir = scratch("roundtrip");
        let store = FileStore::open(&dir, None).unwrap();
        let mut upload = store.begin("image/png").await.unwrap();
        upload.write(b"\x89PNG\n\0bytes").await.unwrap();
        upload.finish(&store, "abc_a.png").await.unwrap();
        let mut stored = store.open_file("abc_a.png").await.unwrap().unwrap();
        assert_eq!((stored.content_type.as_str(), stored.len), ("image/png", 11));
        let mut bytes = Vec::new();
        stored.file.read_to_end(&mut bytes).await.unwrap();
        assert_eq!(bytes, b"\x89PNG\n\0bytes");
        assert!(store.delete("abc_a.png").await.unwrap());
        assert!(!store.delete("abc_a.png").await.unwrap());
        assert!(store.open_file("abc_a.png").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn unfinished_uploads_leave_nothing() {
        let dir = scratch("unfinished");
        let store = FileStore::open(&dir, None).unwrap();
        let mut upload = store.begin("text/plain").await.unwrap();
        upload.write(b"half").await.unwrap();
        drop(upload);
        assert_eq!(std::fs::read_dir(dir.join("files")).unwrap().count(), 0);
        std::fs::write(dir.join("files").join(".upload-crashed"), b"x").unwrap();
        FileStore::open(&dir, None).unwrap();
        assert_eq!(std::fs::read_dir(dir.join("files")).unwrap().count(), 0);
    }
}
