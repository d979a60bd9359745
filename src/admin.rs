//! Operator commands against a running server: `cloudrt jobs run|status`,
//! `cloudrt hooks list|add|remove` and `cloudrt logs [--follow]`. They speak the same REST API as any client, with the
//! master key.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use serde_json::{json, Value};

/// Where the server is and the keys to use.
#[derive(Debug, Clone, Args)]
pub struct Remote {
    /// The server's API URL (mount included).
    #[arg(long, env = "CLOUDRT_SERVER_URL", default_value = "http://127.0.0.1:1337/parse")]
    pub server: String,
    #[arg(long, env = "CLOUDRT_APP_ID")]
    pub app_id: String,
    #[arg(long, env = "CLOUDRT_MASTER_KEY")]
    pub master_key: String,
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Start a job and follow its status messages until it finishes (exit code 0 on success).
    Run {
        name: String,
        /// The job's params, a JSON object.
        #[arg(long, default_value = "{}")]
        params: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Recent job runs, or one run in full.
    Status {
        id: Option<String>,
        #[command(flatten)]
        remote: Remote,
    },
}

/// Which webhook a hooks command names.
#[derive(Debug, Clone, Args)]
#[group(required = true, multiple = false)]
pub struct HookTarget {
    /// A cloud function's name.
    #[arg(long)]
    pub function: Option<String>,
    /// A trigger as CLASS.TRIGGER, e.g. Review.beforeSave.
    #[arg(long)]
    pub trigger: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum HooksCommand {
    /// Every registered webhook.
    List {
        #[command(flatten)]
        remote: Remote,
    },
    /// Register (or change the URL of) a webhook.
    Add {
        #[command(flatten)]
        target: HookTarget,
        #[arg(long)]
        url: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Remove a webhook (cloud code of the same name answers again).
    Remove {
        #[command(flatten)]
        target: HookTarget,
        #[command(flatten)]
        remote: Remote,
    },
}

/// `cloudrt logs`: the newest lines of the script log, oldest first, as a terminal reads them.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Keep printing new lines as they are logged (Ctrl-C to stop).
    #[arg(long, short)]
    pub follow: bool,
    /// How many of the newest lines to print first.
    #[arg(long, short = 'n', default_value_t = 100)]
    pub lines: usize,
    /// Errors only.
    #[arg(long)]
    pub errors: bool,
    #[command(flatten)]
    pub remote: Remote,
}

/// An operator command's failure, printed by main.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Usage(String),
    #[error("cannot reach {url}: {error}")]
    Unreachable { url: String, error: String },
    #[error("the server answered {status}: {body}")]
    Refused { status: u16, body: String },
    #[error("job {0} failed")]
    JobFailed(String),
}

struct Client {
    http: reqwest::Client,
    remote: Remote,
}

impl Client {
    fn new(remote: Remote) -> Client {
        Client { http: reqwest::Client::new(), remote }
    }

    /// One API call; answers the JSON body and the response headers.
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<(Value, reqwest::header::HeaderMap), AdminError> {
        let url = format!("{}/{path}", self.remote.server.trim_end_matches('/'));
        let mut request = self
            .http
            .request(method, &url)
            .header("X-Parse-Application-Id", &self.remote.app_id)
            .header("X-Parse-Master-Key", &self.remote.master_key);
        if let Some(body) = body {
            request = request.header("Content-Type", "application/json").body(body.to_string());
        }
        let unreachable = |e: reqwest::Error| AdminError::Unreachable { url: url.clone(), error: e.to_string() };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.map_err(unreachable)?;
        if !(200..300).contains(&status) {
            return Err(AdminError::Refused { status, body: text });
        }
        Ok((serde_json::from_str(&text).unwrap_or(Value::Null), headers))
    }
}

pub fn jobs(command: JobsCommand) -> Result<(), AdminError> {
    runtime()?.block_on(async move {
        match command {
            JobsCommand::Run { name, params, remote } => run_job(&Client::new(remote), &name, &params).await,
            JobsCommand::Status { id, remote } => job_status(&Client::new(remote), id.as_deref()).await,
        }
    })
}

pub fn hooks(command: HooksCommand) -> Result<(), AdminError> {
    runtime()?.block_on(async move {
        match command {
            HooksCommand::List { remote } => {
                let client = Client::new(remote);
                for kind in ["functions", "triggers"] {
                    let (hooks, _) = client.call(reqwest::Method::GET, &format!("hooks/{kind}"), None).await?;
                    for hook in hooks.as_array().into_iter().flatten() {
                        let target = hook.get("url").and_then(Value::as_str).unwrap_or("cloud code");
                        match hook.get("functionName").and_then(Value::as_str) {
                            Some(name) => println!("function {name} -> {target}"),
                            None => println!("trigger {}.{} -> {target}", text(hook, "className"), text(hook, "triggerName")),
                        }
                    }
                }
                Ok(())
            }
            HooksCommand::Add { target, url, remote } => {
                let client = Client::new(remote);
                let (list_path, item_path, mut declaration) = hook_paths(&target)?;
                declaration["url"] = json!(url);
                let created = client.call(reqwest::Method::POST, &list_path, Some(declaration)).await;
                match created {
                    Err(AdminError::Refused { body, .. }) if body.contains("already exists") => {
                        client.call(reqwest::Method::PUT, &item_path, Some(json!({"url": url}))).await?;
                        println!("changed {item_path} -> {url}");
                    }
                    other => {
                        other?;
                        println!("added {item_path} -> {url}");
                    }
                }
                Ok(())
            }
            HooksCommand::Remove { target, remote } => {
                let (_, item_path, _) = hook_paths(&target)?;
                Client::new(remote).call(reqwest::Method::PUT, &item_path, Some(json!({"__op": "Delete"}))).await?;
                println!("removed {item_path}");
                Ok(())
            }
        }
    })
}

pub fn logs(args: LogsArgs) -> Result<(), AdminError> {
    runtime()?.block_on(async move {
        let client = Client::new(args.remote);
        let level = if args.errors { "error" } else { "info" };
        let (lines, _) = client.call(reqwest::Method::GET, &format!("scriptlog?level={level}&n={}", args.lines.max(1)), None).await?;
        let mut lines: Vec<Value> = lines.as_array().cloned().unwrap_or_default();
        lines.reverse();
        // Lines stamped in the same millisecond as the last one printed are told apart by
        // their text, so following neither repeats nor skips them.
        let mut last: Option<(String, Vec<String>)> = None;
        loop {
            for line in &lines {
                let (timestamp, message) = (text(line, "timestamp"), text(line, "message"));
                if let Some((at, seen)) = &last {
                    if timestamp == at && seen.iter().any(|m| m == message) {
                        continue;
                    }
                }
                // A closed pipe (`cloudrt logs | head`) ends the command quietly.
                if writeln!(std::io::stdout(), "{timestamp} {:<5} {message}", text(line, "level")).is_err() {
                    return Ok(());
                }
                match &mut last {
                    Some((at, seen)) if at == timestamp => seen.push(message.to_string()),
                    _ => last = Some((timestamp.to_string(), vec![message.to_string()])),
                }
            }
            let _ = std::io::stdout().flush();
            if !args.follow {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            let from = last.as_ref().map(|(at, _)| format!("&from={at}")).unwrap_or_default();
            let path = format!("scriptlog?level={level}&n=1000&order=asc{from}");
            lines = client.call(reqwest::Method::GET, &path, None).await?.0.as_array().cloned().unwrap_or_default();
        }
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, AdminError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| AdminError::Usage(format!("cannot start: {e}")))
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

/// (list path, item path, declaration body) of a hook target.
fn hook_paths(target: &HookTarget) -> Result<(String, String, Value), AdminError> {
    match (&target.function, &target.trigger) {
        (Some(name), _) => Ok(("hooks/functions".into(), format!("hooks/functions/{name}"), json!({"functionName": name}))),
        (None, Some(trigger)) => {
            let (class, name) = trigger
                .split_once('.')
                .ok_or_else(|| AdminError::Usage(format!("--trigger must be CLASS.TRIGGER (e.g. Review.beforeSave), got {trigger}")))?;
            Ok((
                "hooks/triggers".into(),
                format!("hooks/triggers/{class}/{name}"),
                json!({"className": class, "triggerName": name}),
            ))
        }
        (None, None) => Err(AdminError::Usage("name a --function or a --trigger".into())),
    }
}

async fn run_job(client: &Client, name: &str, params: &str) -> Result<(), AdminError> {
    let params: Value = serde_json::from_str(params).map_err(|e| AdminError::Usage(format!("--params is not JSON: {e}")))?;
    if !params.is_object() {
        return Err(AdminError::Usage("--params must be a JSON object".into()));
    }
    let (_, headers) = client.call(reqwest::Method::POST, &format!("jobs/{name}"), Some(params)).await?;
    let id = headers
        .get("x-parse-job-status-id")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| AdminError::Usage("the server did not say which run it started".into()))?
        .to_string();
    println!("job {name} started: run {id}");
    let started = Instant::now();
    let live = std::io::stderr().is_terminal();
    let mut last_message = String::new();
    loop {
        let (run, _) = client.call(reqwest::Method::GET, &format!("classes/_JobStatus/{id}"), None).await?;
        let message = text(&run, "message").to_string();
        let status = text(&run, "status").to_string();
        if !message.is_empty() && message != last_message {
            if live {
                eprint!("\r\x1b[K");
            }
            println!("[{:>6.1}s] {message}", started.elapsed().as_secs_f64());
            last_message = message;
        }
        if status != "running" {
            if live {
                eprint!("\r\x1b[K");
            }
            println!("job {name} {status} after {:.1}s", started.elapsed().as_secs_f64());
            return if status == "succeeded" { Ok(()) } else { Err(AdminError::JobFailed(id)) };
        }
        if live {
            eprint!("\r\x1b[K{} running {:.1}s…", spinner(started), started.elapsed().as_secs_f64());
            let _ = std::io::stderr().flush();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn spinner(started: Instant) -> char {
    ['|', '/', '-', '\\'][(started.elapsed().as_millis() / 250 % 4) as usize]
}

async fn job_status(client: &Client, id: Option<&str>) -> Result<(), AdminError> {
    if let Some(id) = id {
        let (run, _) = client.call(reqwest::Method::GET, &format!("classes/_JobStatus/{id}"), None).await?;
        println!("{}", serde_json::to_string_pretty(&run).unwrap_or_default());
        return Ok(());
    }
    let (runs, _) = client.call(reqwest::Method::GET, "classes/_JobStatus?order=-createdAt&limit=20", None).await?;
    println!("{:<10}  {:<20}  {:<9}  {:<8}  {:<24}  message", "run", "job", "status", "source", "started");
    for run in runs["results"].as_array().into_iter().flatten() {
        println!(
            "{:<10}  {:<20}  {:<9}  {:<8}  {:<24}  {}",
            text(run, "objectId"),
            text(run, "jobName"),
            text(run, "status"),
            text(run, "source"),
            text(run, "createdAt"),
            text(run, "message")
        );
    }
    Ok(())
}
