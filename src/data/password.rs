//! Password hashing: Argon2id with fixed parameters, on a few threads of its own.
//!
//! One Argon2id hash takes [`MEMORY_KIB`] of memory and tens of milliseconds of a core. Run on
//! whatever thread asks, a flood of log-ins hashes hundreds at once: memory grows by the hash
//! size per concurrent attempt and the allocator keeps it. Here at most one hash per core runs
//! at a time, each on a long-lived thread that keeps one Argon2 memory and reuses it (so the
//! memory hashing takes is exactly threads × [`MEMORY_KIB`], whatever the load); up to [`QUEUE_PER_THREAD`]
//! attempts per thread wait their turn, and the ones beyond are refused at once with 155.
//!
//! Parse Server hashes with bcrypt. Its hashes verify here too, so its users keep their
//! passwords; on a database Parse Server can also serve (PostgreSQL), new hashes are bcrypt as
//! well (see [`write_bcrypt`]), so that the move can be undone.

use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};

use std::cell::RefCell;

use argon2::password_hash::{self, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;

use super::DataError;

/// Memory cost of one hash: 19 MiB, OWASP's recommended minimum for Argon2id with
/// [`ITERATIONS`] passes and one lane.
pub const MEMORY_KIB: u32 = 19 * 1024;
pub const ITERATIONS: u32 = 2;
pub const LANES: u32 = 1;
/// Attempts that may wait per hashing thread before new ones get 155.
const QUEUE_PER_THREAD: usize = 32;

type Job = Box<dyn FnOnce() + Send>;

/// bcrypt's cost for new hashes: Parse Server's (bcryptjs with 10 rounds).
const BCRYPT_COST: u32 = 10;

/// Whether new hashes are bcrypt; set once at start.
static BCRYPT: OnceLock<bool> = OnceLock::new();

/// Makes every later [`hash`] a bcrypt hash, as Parse Server writes them.
pub fn write_bcrypt() {
    let _ = BCRYPT.set(true);
}

fn is_bcrypt(hash: &str) -> bool {
    ["$2a$", "$2b$", "$2y$"].iter().any(|prefix| hash.starts_with(prefix))
}

/// The hashing threads and the bounded queue in front of them.
struct Hashers {
    jobs: SyncSender<Job>,
}

fn hashers() -> &'static Hashers {
    static HASHERS: OnceLock<Hashers> = OnceLock::new();
    HASHERS.get_or_init(|| {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let (jobs, queue) = mpsc::sync_channel::<Job>(threads * QUEUE_PER_THREAD);
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new().name(format!("cloudrt-password-{n}")).spawn(move || work(&queue));
            if let Err(e) = spawned {
                tracing::error!("cannot start a password hashing thread: {e}");
            }
        }
        Hashers { jobs }
    })
}

fn work(queue: &Mutex<Receiver<Job>>) {
    loop {
        let job = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

/// Runs `work` on a hashing thread and waits for it (callers are on blocking threads).
fn on_hasher<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, DataError> {
    let (reply, answer) = mpsc::sync_channel(1);
    let job: Job = Box::new(move || {
        let _ = reply.send(work());
    });
    hashers().jobs.try_send(job).map_err(|e| match e {
        TrySendError::Full(_) => {
            DataError::PasswordHashersBusy
        }
        TrySendError::Disconnected(_) => DataError::PasswordHashing("password hashing is not available".to_owned()),
    })?;
    answer.recv().map_err(|_| DataError::PasswordHashing("password hashing failed".to_owned()))
}

fn params() -> Result<Params, DataError> {
    Params::new(MEMORY_KIB, ITERATIONS, LANES, None).map_err(|e| DataError::PasswordHashing(format!("argon2 parameters: {e}")))
}

thread_local! {
    /// The hashing thread's Argon2 memory, allocated by its first hash and reused by every
    /// later one, so that hashing never goes back to the allocator.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Argon2id of `password` and `salt` with `params` into `out`, in this thread's memory. A
/// stored hash that asks for more memory than cloudrt's own parameters is refused rather
/// than allowed to grow it.
fn compute(params: &Params, version: Version, password: &[u8], salt: &[u8], out: &mut [u8]) -> Result<(), DataError> {
    let needed = params.block_count();
    if params.m_cost() > MEMORY_KIB {
        return Err(DataError::PasswordHashing("the stored password hash asks for more memory than cloudrt allows".to_owned()));
    }
    BLOCKS.with(|blocks| {
        let mut blocks = blocks.borrow_mut();
        if blocks.len() < needed {
            blocks.resize(needed, Block::default());
        }
        Argon2::new(Algorithm::Argon2id, version, params.clone())
            .hash_password_into_with_memory(password, salt, out, &mut blocks[..needed])
            .map_err(|e| DataError::PasswordHashing(format!("password hashing failed: {e}")))
    })
}

/// The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) of `password` with a fresh salt.
pub fn hash(password: &str) -> Result<String, DataError> {
    let password = password.to_owned();
    if BCRYPT.get() == Some(&true) {
        return on_hasher(move || {
            bcrypt::hash_with_result(password, BCRYPT_COST)
                .map(|hash| hash.format_for_version(bcrypt::Version::TwoA))
                .map_err(|e| DataError::PasswordHashing(format!("password hashing failed: {e}")))
        })?;
    }
    on_hasher(move || {
        let params = params()?;
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        compute(&params, Version::V0x13, password.as_bytes(), &salt, &mut out)?;
        let failed = |e: password_hash::Error| DataError::PasswordHashing(format!("password hash encoding failed: {e}"));
        let salt = SaltString::encode_b64(&salt).map_err(failed)?;
        let hash = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).map_err(failed)?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(failed)?),
        };
        Ok(hash.to_string())
    })?
}

/// Whether `password` matches the stored PHC string `hash` (its own parameters are used).
pub fn verify(password: &str, hash: &str) -> Result<bool, DataError> {
    let (password, hash) = (password.to_owned(), hash.to_owned());
    if is_bcrypt(&hash) {
        // A malformed bcrypt string is a wrong password, like a malformed Argon2 one.
        return on_hasher(move || Ok(bcrypt::verify(password, &hash).unwrap_or(false)))?;
    }
    on_hasher(move || {
        let Ok(parsed) = PasswordHash::new(&hash) else { return Ok(false) };
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else { return Ok(false) };
        if Algorithm::try_from(parsed.algorithm) != Ok(Algorithm::Argon2id) {
            return Ok(false);
        }
        let Ok(params) = Params::try_from(&parsed) else { return Ok(false) };
        let version = parsed.version.map_or(Ok(Version::V0x13), Version::try_from).unwrap_or(Version::V0x13);
        let mut salt_bytes = [0u8; 64];
        let Ok(salt) = salt.decode_b64(&mut salt_bytes) else { return Ok(false) };
        let mut out = vec![0u8; expected.len()];
        compute(&params, version, password.as_bytes(), salt, &mut out)?;
        // Output's equality is constant-time.
        Ok(Output::new(&out).is_ok_and(|computed| computed == expected))
    })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let hash = hash("s3cret").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify("s3cret", &hash).unwrap());
        assert!(!verify("S3cret", &hash).unwrap());
        assert!(!verify("s3cret", "not a hash").unwrap());
    }

    #[test]
    fn parse_server_bcrypt_hashes_verify_here() {
        // Written by bcryptjs (Parse Server's hasher, 10 rounds) for the password "parse".
        let theirs = "$2a$10$362hP817cEg.DAiacSNe1eHewCDvXoAKC4m97YgeESbh5cd.6MARu";
        assert!(verify("parse", theirs).unwrap());
        assert!(!verify("Parse", theirs).unwrap());
        assert!(!verify("parse", "$2a$10$broken").unwrap());
    }

    #[test]
    fn hashes_of_the_argon2_crate_verify_here() {
        use argon2::password_hash::PasswordHasher;
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let theirs = Argon2::default().hash_password(b"pw", &salt).unwrap().to_string();
        assert!(verify("pw", &theirs).unwrap());
        assert!(!verify("px", &theirs).unwrap());
    }
}
