//! The deployment files in deploy/ stay true: the example node configuration loads with the
//! binary's own parser (every key known, every value valid), and the systemd unit starts the
//! binary with a flag it has.

use std::process::Command;

fn repo(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

#[test]
fn the_example_node_configuration_loads() {
    let out = Command::new(env!("CARGO_BIN_EXE_mailroom"))
        .args(["config", "show", "--config"])
        .arg(repo("deploy/node.example.toml"))
        .env("MAILROOM_DATABASE_URL", "postgres://mailroom@db.internal/mailroom")
        .env("MAILROOM_BLOBS_SECRET_ACCESS_KEY", "example-secret")
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(shown.contains("url = \"s3://mailroom-blobs/prod\"") && shown.contains("hostname = \"mx1.example.com\""), "{shown}");
    assert!(!shown.contains("example-secret"), "secrets are hidden: {shown}");
}

#[test]
fn the_systemd_unit_runs_serve_with_the_config_flag() {
    let unit = std::fs::read_to_string(repo("deploy/mailroom.service")).unwrap();
    let exec = unit.lines().find(|l| l.starts_with("ExecStart=")).expect("ExecStart");
    assert_eq!(exec, "ExecStart=/usr/local/bin/mailroom serve --config /etc/mailroom/mailroom.toml");
    let help = Command::new(env!("CARGO_BIN_EXE_mailroom")).args(["serve", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("--config"));
    for key in ["EnvironmentFile=", "KillSignal=SIGTERM", "AmbientCapabilities=CAP_NET_BIND_SERVICE", "ReadWritePaths=/var/lib/mailroom"] {
        assert!(unit.contains(key), "{key}");
    }
}
