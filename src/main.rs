//! `cloudrt`: Parse Cloud Code and the Parse REST API in one binary.

mod admin;
mod api;
mod auth;
mod config;
mod data;
mod error;
mod hooks;
mod http;
mod mail;
mod registry;
mod runtime;
mod scheduler;
mod script_log;
mod store;

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::api::jobs;
use crate::api::startup::Opened;
use crate::api::reload;
use crate::config::{ServeArgs, ServeConfig};
use crate::store::{PostgresStore, SledStore, Store};
use crate::script_log::capture::{self, Capture};

/// mimalloc instead of glibc's malloc: at a million objects glibc's per-thread arenas kept
/// most of the memory that scans and index builds had freed (RSS 1 GB after the scale
/// bench's queries), and its small allocations, which a fill is made of, are slower.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "cloudrt", version, about = "A self-hosted Parse Cloud Code runtime")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// `Serve`'s flags dwarf the other commands', but the enum is parsed once at start-up.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Load CLOUD_DIR/main.js and serve the Parse REST API.
    Serve(Box<ServeArgs>),
    /// Start and follow background jobs on a running server.
    #[command(subcommand)]
    Jobs(admin::JobsCommand),
    /// Manage the webhooks of a running server.
    #[command(subcommand)]
    Hooks(admin::HooksCommand),
    /// Print the script log of a running server (cloud code output and failures).
    Logs(admin::LogsArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let capture = init_logging();
    match cli.command {
        Command::Serve(args) => match (*args).validate() {
            Ok(config) => serve(config, &capture),
            Err(e) => fail(&e.to_string()),
        },
        Command::Jobs(command) => admin::jobs(command).map_or_else(|e| fail(&e.to_string()), |()| ExitCode::SUCCESS),
        Command::Hooks(command) => admin::hooks(command).map_or_else(|e| fail(&e.to_string()), |()| ExitCode::SUCCESS),
        Command::Logs(args) => admin::logs(args).map_or_else(|e| fail(&e.to_string()), |()| ExitCode::SUCCESS),
    }
}

/// The server's log to stderr (filtered by `CLOUDRT_LOG`), and cloud code's lines at info and
/// above to the script log as well, whatever that filter says.
fn init_logging() -> Capture {
    use tracing_subscriber::filter::{EnvFilter, Targets};
    use tracing_subscriber::prelude::*;
    let capture = Capture::default();
    let filter = EnvFilter::try_from_env("CLOUDRT_LOG").unwrap_or_else(|_| "info".into());
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_filter(filter))
        .with(capture.clone().with_filter(Targets::new().with_target(capture::TARGET, tracing::Level::INFO)))
        .init();
    capture
}

fn fail(message: &str) -> ExitCode {
    eprintln!("cloudrt: {message}");
    ExitCode::FAILURE
}

fn serve(mut config: ServeConfig, capture: &Capture) -> ExitCode {
    let postgres = match config.database_uri.as_deref().map(|uri| PostgresStore::open(uri, config.query_timeout)).transpose() {
        Ok(postgres) => postgres.map(Arc::new),
        Err(e) => return fail(&e.to_string()),
    };
    let store: Arc<dyn Store> = match &postgres {
        Some(postgres) => {
            // Parse Server must be able to log in the users cloudrt signs up on its database.
            data::password::write_bcrypt();
            postgres.clone()
        }
        None => match SledStore::open_with_cache(&config.data_dir, config.cache_bytes) {
            Ok(store) => Arc::new(store),
            Err(e) => return fail(&e.to_string()),
        },
    };
    // On a database other nodes share, files are kept in it, so that every node serves them.
    let shared_files = postgres.clone().map(|postgres| postgres as Arc<dyn store::files::SharedFiles>);
    let opened = match Opened::open(&config, store, shared_files, capture) {
        Ok(opened) => opened,
        Err(message) => return fail(&message),
    };
    let tokio = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the HTTP runtime: {e}")),
    };
    tokio.block_on(async move {
        let listener = match tokio::net::TcpListener::bind((config.host.as_str(), config.port)).await {
            Ok(listener) => listener,
            Err(e) => return fail(&format!("cannot listen on {}:{}: {e}", config.host, config.port)),
        };
        let addr = match listener.local_addr() {
            Ok(addr) => addr,
            Err(e) => return fail(&format!("cannot read the listening address: {e}")),
        };
        let reloads = reload::listen(&config.cloud_dir, config.watch);
        println!(
            "cloudrt: {} workers, up to {} calls in flight each, data in {}",
            config.workers,
            config.max_in_flight,
            config.data_dir.display()
        );
        println!("cloudrt: listening on {}", http::url(addr, &config.mount));
        if let Some(postgres) = &postgres {
            let server = config.files.public_server_url.clone().unwrap_or_else(|| http::url(addr, &config.mount));
            let app_id = config.keys.app_id.clone();
            postgres.serve_files_at(Box::new(move |name| format!("{server}/files/{app_id}/{}", api::files::encode(name))));
        }
        // `--port 0` picked a port: URLs the server builds for itself (file URLs made by cloud
        // code) must name the real one.
        config.port = addr.port();
        let api = opened.into_api(config);
        api::nodes::follow(&api);
        match jobs::fail_interrupted(&api) {
            Ok(0) => {}
            Ok(n) => tracing::warn!("{n} job run(s) were interrupted by the last stop; marked failed"),
            Err(e) => tracing::error!("cannot check for interrupted jobs: {}", e.message),
        }
        tokio::spawn(scheduler::run(api.clone()));
        tokio::spawn(reload::run_reloader(api.clone(), reloads));
        http::serve(listener, api).await;
        ExitCode::SUCCESS
    })
}
