//! Two server nodes on one PostgreSQL database: what must hold across nodes for the API —
//! `client_id` creates, `Idempotency-Key` replays and long-poll waits see each other's
//! writes at once. (The three-node SMTP, delivery and SIGKILL run is tests/nodes.rs.)

mod common;

use common::pg::with_database;
use common::*;
use mailroom_client::{Client, Method};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Starts two nodes on `url` sharing the admin key; returns them.
async fn two_nodes(url: &str, dirs: &(tempfile::TempDir, tempfile::TempDir)) -> (TestApp, TestApp) {
    let mut config = test_config(dirs.0.path().to_path_buf());
    config.database_url = url.to_string();
    let a = start(config).await;
    let mut config = test_config(dirs.1.path().to_path_buf());
    config.database_url = url.to_string();
    config.admin_api_key = Some(a.admin_key.clone());
    let b = start(config).await;
    (a, b)
}

async fn post(c: &Client, path: &str, body: Value, headers: &[(&str, &str)]) -> (u16, Value, bool) {
    let r = c.raw_request(Method::POST, path, Some(body), headers).await.unwrap();
    let replayed = r.header("idempotent-replayed") == Some("true");
    (r.status, r.json().unwrap_or(Value::Null), replayed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn creates_replays_and_waits_hold_across_two_nodes() {
    with_database("the two-node API test", |url| async move {
        let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (node_a, node_b) = two_nodes(&url, &dirs).await;
        let (_, key) = node_a.site_key("alpha").await;
        let nodes = [node_a.client(&key), node_b.client(&key)];

        // The same client_id created at once on both nodes: one mailbox, one 201.
        let creates = (0..10).map(|i| {
            let c = nodes[i % 2].clone();
            tokio::spawn(async move { post(&c, "/v1/mailboxes", json!({"username": "support", "client_id": "crm-support"}), &[]).await })
        });
        let results: Vec<_> = futures::future::join_all(creates).await.into_iter().map(Result::unwrap).collect();
        let ids: std::collections::BTreeSet<String> = results.iter().map(|(_, v, _)| v["id"].as_str().unwrap_or("").to_string()).collect();
        assert_eq!(ids.len(), 1, "{results:?}");
        let created = results.iter().filter(|(s, _, _)| *s == 201).count();
        assert_eq!(created, 1, "{results:?}");
        assert!(results.iter().all(|(s, _, _)| *s == 201 || *s == 200), "{results:?}");
        let mailbox = ids.into_iter().next().unwrap();

        // One Idempotency-Key sent to both nodes at once: one message; the others replay the
        // first answer or are told the first is still in progress.
        let other = post(&nodes[1], "/v1/mailboxes", json!({"username": "billing"}), &[]).await.1["id"].as_str().unwrap().to_string();
        let path = format!("/v1/mailboxes/{mailbox}/messages");
        let to = format!("billing@{}", "mailroom.localhost");
        let body = json!({"to": [to], "subject": "Invoice 42", "text": "Attached."});
        let sends = (0..10).map(|i| {
            let (c, path, body) = (nodes[i % 2].clone(), path.clone(), body.clone());
            tokio::spawn(async move { post(&c, &path, body, &[("Idempotency-Key", "invoice-42")]).await })
        });
        let results: Vec<_> = futures::future::join_all(sends).await.into_iter().map(Result::unwrap).collect();
        let firsts = results.iter().filter(|(s, _, replayed)| *s == 202 && !replayed).count();
        assert_eq!(firsts, 1, "{results:?}");
        for (s, v, replayed) in &results {
            assert!((*s == 202 && (*replayed || v["id"].is_string())) || (*s == 409 && v["error"]["code"] == "idempotency_key_in_progress"), "{s} {v}");
        }
        let (_, list) = {
            let r = nodes[0].raw_request(Method::GET, &format!("/v1/mailboxes/{other}/messages"), None, &[]).await.unwrap();
            (r.status, r.json::<Value>().unwrap())
        };
        assert_eq!(list["items"].as_array().unwrap().len(), 1, "exactly one message arrived: {list}");

        // A long-poll wait on node B answers at once when node A stores a message.
        let waiter = {
            let c = nodes[1].clone();
            let other = other.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                let r = c.raw_request(Method::GET, &format!("/v1/mailboxes/{other}/messages/wait?timeout=20"), None, &[]).await.unwrap();
                (r.status, r.json::<Value>().unwrap_or(Value::Null), started.elapsed())
            })
        };
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (s, _, _) = post(&nodes[0], &path, json!({"to": [format!("billing@mailroom.localhost")], "subject": "Invoice 43", "text": "Attached."}), &[]).await;
        assert_eq!(s, 202);
        let (s, v, took) = waiter.await.unwrap();
        assert_eq!(s, 200, "{v}");
        assert!(v.to_string().contains("Invoice 43"), "{v}");
        assert!(took < Duration::from_secs(5), "the wait on node B took {took:?}");

        node_a.server.unwrap().shutdown().await;
        node_b.server.unwrap().shutdown().await;
    })
    .await;
}
