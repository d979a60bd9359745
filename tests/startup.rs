//! Start-up: what is printed when it works, and the file, line and message when it does not.

mod common;

use common::{fixture, Server};

#[test]
fn prints_handlers_and_url() {
    let server = Server::start("modules", &[]);
    assert!(server.url.starts_with("http://127.0.0.1:") && server.url.ends_with("/parse"), "{}", server.url);
}

#[test]
fn broken_cloud_code_stops_start_up_with_file_line_and_message() {
    let cases = [
        ("startup_syntax_error", "main.js:3", "SyntaxError"),
        ("startup_throws", "main.js:3", "main.js refuses to load"),
        ("startup_bad_require", "main.js:2", "Cannot find module './missing-module'"),
    ];
    for (name, location, message) in cases {
        let exited = Server::try_start(&fixture(name), &[]).err().unwrap_or_else(|| panic!("{name} started"));
        assert_eq!(exited.code, Some(1), "{name}");
        assert!(exited.stderr.contains(location), "{name}: {}", exited.stderr);
        assert!(exited.stderr.contains(message), "{name}: {}", exited.stderr);
    }
}

#[test]
fn a_missing_cloud_directory_stops_start_up() {
    let exited = Server::try_start(&fixture("no_such_fixture"), &[]).err().expect("started without a cloud dir");
    assert_eq!(exited.code, Some(1));
    assert!(exited.stderr.contains("does not exist"), "{}", exited.stderr);
}

#[test]
fn version_and_help_work() {
    let version = std::process::Command::new(env!("CARGO_BIN_EXE_cloudrt")).arg("--version").output().unwrap();
    assert!(version.status.success());
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("cloudrt "));
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_cloudrt")).args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in ["--host", "--port", "--mount", "--app-id", "--master-key", "--client-key", "--workers", "--function-timeout", "--data-dir"] {
        assert!(help.contains(flag), "{flag} missing from help");
    }
}

#[test]
fn a_second_server_on_the_same_data_refuses_to_start() {
    let first = Server::start("basics", &[]);
    if let Some(database) = &first.database {
        // On PostgreSQL the data is the database, and several nodes may share it (tests/nodes.rs
        // checks what they share): a second server on it starts.
        Server::start_on("basics", database.clone(), &[]);
        return;
    }
    let second = Server::try_start_in(&fixture("basics"), first.data_dir.clone(), &[]);
    let exited = second.err().expect("two servers on one data directory");
    assert_eq!(exited.code, Some(1));
    assert!(exited.stderr.contains("a second cloudrt is using data directory"), "{}", exited.stderr);
    assert!(first.data_dir.exists(), "the first server's data is untouched");
}
