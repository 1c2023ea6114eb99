//! The send path holds below the model (issue 11): each bullet the issue reproduced against
//! the old code, through the real server, real SMTP peers and the real binary.
//!
//! - suppressed or blocked cc/bcc (runtime or builder default, `+tag`, any case) get no mail
//!   on any channel, and a refusal never falls back to the SMTP account;
//! - the per-recipient rate limit counts copies too;
//! - forged bounce reports (not from `<>`, not to our VERP address, for a delivered
//!   recipient) change nothing; a real one applies, and the decision is on the message;
//! - private tenant SMTP hosts and private MX answers are refused unless
//!   `security.allow_private_targets`;
//! - allow/block lists: the API, SMTP receive blocks (550 5.7.1) and allow lists;
//! - loop protection: `auto_submitted`, `auto_reply_loop`, `thread_send_limit`;
//! - the SMTP account is a queue route: the send survives a SIGKILL between acceptance and
//!   delivery.

mod common;

use common::dns::TestDns;
use common::smtp::smtp_dialogue;
use common::submission::{Security, submission_server};
use common::*;
use mailroom_client::{Client, Method};
use mailroom_core::DeliveryStatus;
use serde_json::{Value, json};
use std::time::Duration;

async fn invoke(c: &Client, tool: &str, body: Value) -> (u16, Value) {
    call(
        c,
        Method::POST,
        &format!("/v1/tools/{tool}/invoke"),
        Some(body),
    )
    .await
}

/// A site with a mailbox, a team member sending from it, a contact, and an SMTP account (a
/// real submission server) so that a wrong fallback would be seen.
struct Site {
    site: mailroom_core::Site,
    a: Client,
    mailbox: mailroom_core::Mailbox,
    /// The team member (Ana) owning `contact`.
    member: String,
    contact: String,
    seen: std::sync::Arc<std::sync::Mutex<common::submission::Seen>>,
}

async fn site(app: &TestApp, name: &str) -> Site {
    let (site, a) = app.site_client(name).await;
    let mb = mailbox(&a, "ana").await;
    let (s, m) = call(
        &a,
        Method::POST,
        "/v1/team-members",
        Some(json!({"name": "Ana", "mailbox_id": mb.id})),
    )
    .await;
    assert_eq!(s, 201, "{m}");
    let (s, c) = call(
        &a,
        Method::POST,
        "/v1/contacts",
        Some(json!({"email": "carla@customer.test", "name": "Carla",
        "owner_team_member_id": m["id"]})),
    )
    .await;
    assert!(s == 200 || s == 201, "{c}");
    let (port, seen) = submission_server(Security::StartTls, "ana@alpha.test", "pw-123456").await;
    let settings = json!({"channels": {"email": {"email": "ana@alpha.test", "enabled": true},
        "agent_email": {"status": "active", "mailbox_id": mb.id}}});
    assert_eq!(
        call(&a, Method::PUT, "/v1/settings", Some(settings))
            .await
            .0,
        200
    );
    let (s, t) = call(&a, Method::POST, "/v1/secure-tokens", Some(json!({"site_id": site.id.to_string(), "token_type": "email",
        "identifier": "ana@alpha.test", "token_value": {"password": "pw-123456", "smtpHost": "127.0.0.1", "smtpPort": port}}))).await;
    assert_eq!(s, 201, "{t}");
    Site {
        site,
        a,
        mailbox: mb,
        member: m["id"].as_str().unwrap().to_string(),
        contact: c["id"].as_str().unwrap().to_string(),
        seen,
    }
}

async fn outbound_count(c: &Client, mailbox: mailroom_core::MailboxId) -> usize {
    let (_, list) = call(
        c,
        Method::GET,
        &format!("/v1/mailboxes/{mailbox}/messages?direction=outbound"),
        None,
    )
    .await;
    list["items"].as_array().map(Vec::len).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suppressed_and_blocked_copies_get_no_mail_on_any_channel() {
    // customer.test goes to a closed port: its recipients stay deferred (never bounced, so
    // never suppressed by a bounce while the rate limit is checked).
    let app = spawn_app_with(|c| {
        delivering(c);
        c.delivery
            .routes
            .insert("customer.test".into(), "127.0.0.1:1".into());
        c.delivery.retry_schedule_secs = vec![3600];
    })
    .await;
    let f = site(&app, "alpha").await;
    let a = &f.a;
    assert_eq!(
        call(
            a,
            Method::POST,
            "/v1/suppressions",
            Some(json!({"address": "x@victim.test"}))
        )
        .await
        .0,
        201
    );

    // REST: a suppressed cc, written with a +tag and another case, refuses the whole send.
    let req = json!({"to": ["bob@customer.test"], "cc": ["X+news@Victim.TEST"], "subject": "Hi", "text": "Hello"});
    let (s, v) = call(
        a,
        Method::POST,
        &format!("/v1/mailboxes/{}/messages", f.mailbox.id),
        Some(req),
    )
    .await;
    assert_eq!((s, error_code(&v)), (422, "recipient_suppressed"), "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("x+news@victim.test"),
        "names the recipient: {v}"
    );
    // A suppressed bcc, and a +tag address as the main recipient, the same.
    let req = json!({"to": ["x+1@victim.test"], "subject": "Hi", "text": "Hello"});
    assert_eq!(
        error_code(
            &call(
                a,
                Method::POST,
                &format!("/v1/mailboxes/{}/messages", f.mailbox.id),
                Some(req)
            )
            .await
            .1
        ),
        "recipient_suppressed"
    );

    // The one-to-one tool: a runtime cc is refused as skipped / suppressed, and the SMTP
    // account (a possible fallback) never sees the email.
    let email = |extra: Value| {
        let mut v = json!({"send_to": f.contact, "subject": "Plan", "body": "Hi Carla, here is the plan for May."});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    };
    let (s, v) = invoke(
        a,
        "send_one_to_one_email",
        email(json!({"cc": ["x+tag@victim.test"]})),
    )
    .await;
    assert_eq!(
        (s, v["status"].as_str(), v["code"].as_str()),
        (200, Some("skipped"), Some("suppressed")),
        "{v}"
    );
    assert!(
        v["error_message"].as_str().unwrap().contains("x+tag@victim.test"),
        "names the recipient: {v}"
    );
    // A builder default bcc.
    let (s, _) = call(
        a,
        Method::POST,
        "/v1/tool-configs",
        Some(json!({"name": "with_bcc", "tool": "send_one_to_one_email",
        "prompt": "p", "settings": {"bcc": ["x@victim.test"], "sender_rule": "contact_owner"}})),
    )
    .await;
    assert_eq!(s, 201);
    let (s, v) = invoke(a, "with_bcc", email(json!({}))).await;
    assert_eq!(
        (s, v["status"].as_str(), v["code"].as_str()),
        (200, Some("skipped"), Some("suppressed")),
        "{v}"
    );
    // The seed-002 tool to a +tag form of the suppressed address.
    let (s, v) = call(
        a,
        Method::POST,
        "/v1/send-email",
        Some(
            json!({"email": "x+2@victim.test", "subject": "Hi", "message": "Hello",
        "site_id": f.site.id.to_string()}),
        ),
    )
    .await;
    assert_eq!(
        (s, v["status"].as_str(), v["code"].as_str()),
        (200, Some("skipped"), Some("suppressed")),
        "{v}"
    );

    // A send block list entry: refused as recipient_blocked in REST and in the tools.
    let (s, e) = call(a, Method::POST, "/v1/lists", Some(json!({"direction": "send", "kind": "block", "entry": "Blocked.test", "reason": "competitor"}))).await;
    assert_eq!(s, 201, "{e}");
    assert_eq!(e["entry"], "blocked.test");
    let req = json!({"to": ["bob@customer.test"], "bcc": ["someone+x@BLOCKED.test"], "subject": "Hi", "text": "Hello"});
    let (s, v) = call(
        a,
        Method::POST,
        &format!("/v1/mailboxes/{}/messages", f.mailbox.id),
        Some(req),
    )
    .await;
    assert_eq!((s, error_code(&v)), (422, "recipient_blocked"), "{v}");
    let (s, v) = invoke(
        a,
        "send_one_to_one_email",
        email(json!({"cc": ["ceo@blocked.test"]})),
    )
    .await;
    assert_eq!(
        (s, v["status"].as_str(), v["code"].as_str()),
        (200, Some("skipped"), Some("recipient_blocked")),
        "{v}"
    );

    // Nothing left through either channel.
    assert_eq!(outbound_count(a, f.mailbox.id).await, 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        f.seen.lock().unwrap().rcpt_to.is_empty(),
        "the SMTP account got nothing: {:?}",
        f.seen.lock().unwrap()
    );

    // The per-recipient rate limit counts a cc'd address too.
    let settings = json!({"channels": {"agent_email": {"status": "active", "mailbox_id": f.mailbox.id}},
        "tools": {"rate_limit": {"per_recipient_per_day": 1}}});
    assert_eq!(
        call(a, Method::PUT, "/v1/settings", Some(settings)).await.0,
        200
    );
    let (s, v) = invoke(
        a,
        "send_one_to_one_email",
        email(json!({"cc": ["dave@customer.test"]})),
    )
    .await;
    assert_eq!((s, v["status"].as_str()), (201, Some("success")), "{v}");
    // Another of Ana's contacts, never emailed: only the cc'd Dave (as `Dave+x`) is over the
    // limit, so the refusal can only come from counting the copy.
    let (s, c2) = call(
        a,
        Method::POST,
        "/v1/contacts",
        Some(json!({"email": "erin@customer.test", "name": "Erin", "owner_team_member_id": f.member})),
    )
    .await;
    assert!(s == 200 || s == 201, "{c2}");
    let (s, v) = invoke(a, "send_one_to_one_email", json!({"send_to": c2["id"],
        "subject": "Other", "body": "Hi Erin, something else entirely.", "cc": ["Dave+x@customer.test"]})).await;
    assert_eq!(
        (s, v["status"].as_str(), v["code"].as_str()),
        (200, Some("skipped"), Some("rate_limited")),
        "{v}"
    );
    assert!(
        v["error_message"].as_str().unwrap().to_lowercase().contains("dave+x@customer.test"),
        "names the refused recipient: {v}"
    );
    // The same without the copy goes out: the limit was Dave's, not Erin's.
    let (s, v) = invoke(a, "send_one_to_one_email", json!({"send_to": c2["id"],
        "subject": "Other", "body": "Hi Erin, something else entirely."})).await;
    assert_eq!((s, v["status"].as_str()), (201, Some("success")), "{v}");
    let (_, list) = call(
        a,
        Method::GET,
        &format!("/v1/mailboxes/{}/messages?direction=outbound", f.mailbox.id),
        None,
    )
    .await;
    let to_dave = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m.to_string().to_lowercase().contains("dave"))
        .count();
    assert_eq!(to_dave, 1, "Dave got one email: {list}");
    assert_eq!(outbound_count(a, f.mailbox.id).await, 2);
}

/// Runs the real binary as a client of `app` with `key`; returns (success, stdout, stderr).
fn cli(app: &TestApp, key: &str, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(common::process::BIN)
        .args(args)
        .env("MAILROOM_URL", &app.url)
        .env("MAILROOM_API_KEY", key)
        .output()
        .expect("the CLI runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Sends a text email from `mailbox` to `to` (and `cc`); returns the status and the answer.
async fn send_to(c: &Client, mailbox: mailroom_core::MailboxId, to: &str, cc: &[&str]) -> (u16, Value) {
    call(
        c,
        Method::POST,
        &format!("/v1/mailboxes/{mailbox}/messages"),
        Some(json!({"to": [to], "cc": cc, "subject": "Hi", "text": "Hello"})),
    )
    .await
}

/// Send allow lists (once a scope has one, only listed recipients pass), per-mailbox send
/// entries, and `mailroom lists add|list|remove` through the real binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_allow_lists_mailbox_entries_and_the_cli() {
    let app = spawn_app().await;
    let (_, key) = app.site_key("alpha").await;
    let a = app.client(&key);
    let (_, b) = app.site_client("beta").await;
    let m1 = mailbox(&a, "one").await;
    let m2 = mailbox(&a, "two").await;
    let other = mailbox(&b, "three").await;

    // A per-mailbox send block, added with the CLI: only that mailbox is held to it.
    let mid = m1.id.to_string();
    let (ok, out, err) = cli(&app, &key, &["--json", "lists", "add", "send", "block", "Rival.test", "--mailbox-id", &mid, "--reason", "competitor"]);
    assert!(ok, "{out}{err}");
    let block: Value = serde_json::from_str(&out).unwrap();
    assert_eq!((block["entry"].as_str(), block["mailbox_id"].as_str(), block["kind"].as_str()), (Some("rival.test"), Some(mid.as_str()), Some("block")), "{block}");
    let (s, v) = send_to(&a, m1.id, "ceo+x@rival.test", &[]).await;
    assert_eq!((s, error_code(&v)), (422, "recipient_blocked"), "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("ceo+x@rival.test"), "names the recipient: {v}");
    let (s, v) = send_to(&a, m2.id, "ceo@rival.test", &[]).await;
    assert_eq!(s, 202, "another mailbox of the site is not blocked: {v}");

    // A site-wide send allow list: from then on only listed recipients may be mailed, to, cc
    // and bcc alike, and the refusal names who.
    let (ok, out, err) = cli(&app, &key, &["--json", "lists", "add", "send", "allow", "customer.test"]);
    assert!(ok, "{out}{err}");
    let allow: Value = serde_json::from_str(&out).unwrap();
    assert!(allow["mailbox_id"].is_null(), "{allow}");
    let (s, v) = send_to(&a, m2.id, "Bob+news@Customer.TEST", &[]).await;
    assert_eq!(s, 202, "{v}");
    let (s, v) = send_to(&a, m2.id, "zoe@elsewhere.test", &[]).await;
    assert_eq!((s, error_code(&v)), (422, "recipient_blocked"), "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("zoe@elsewhere.test"), "{v}");
    let (s, v) = send_to(&a, m2.id, "bob@customer.test", &["zoe@elsewhere.test"]).await;
    assert_eq!((s, error_code(&v)), (422, "recipient_blocked"), "a cc off the list: {v}");
    assert!(!v["error"]["message"].as_str().unwrap().contains("bob@customer.test"), "only the refused recipient: {v}");
    // A block wins over the allow list's domain.
    let (s, e) = call(&a, Method::POST, "/v1/lists", Some(json!({"direction": "send", "kind": "block", "entry": "ex@customer.test"}))).await;
    assert_eq!(s, 201, "{e}");
    let (s, v) = send_to(&a, m2.id, "ex@customer.test", &[]).await;
    assert_eq!((s, error_code(&v)), (422, "recipient_blocked"), "{v}");
    // A mailbox allow entry widens the list for that mailbox only.
    let (s, e) = call(&a, Method::POST, "/v1/lists", Some(json!({"direction": "send", "kind": "allow", "entry": "vip@partner.test", "mailbox_id": m1.id}))).await;
    assert_eq!(s, 201, "{e}");
    let (s, v) = send_to(&a, m1.id, "vip@partner.test", &[]).await;
    assert_eq!(s, 202, "{v}");
    let (s, v) = send_to(&a, m2.id, "vip@partner.test", &[]).await;
    assert_eq!((s, error_code(&v)), (422, "recipient_blocked"), "{v}");
    let (s, v) = send_to(&a, m1.id, "other@partner.test", &[]).await;
    assert_eq!((s, error_code(&v)), (422, "recipient_blocked"), "an address entry allows only that address: {v}");
    // The tools hold the allow list too: skipped / recipient_blocked.
    let (s, c) = call(&a, Method::POST, "/v1/team-members", Some(json!({"name": "Ana", "mailbox_id": m2.id}))).await;
    assert_eq!(s, 201, "{c}");
    let (s, contact) = call(&a, Method::POST, "/v1/contacts", Some(json!({"email": "zoe@elsewhere.test", "owner_team_member_id": c["id"]}))).await;
    assert_eq!(s, 201, "{contact}");
    let (s, v) = invoke(&a, "send_one_to_one_email", json!({"send_to": contact["id"], "subject": "Plan", "body": "Hi Zoe, the plan."})).await;
    assert_eq!((s, v["status"].as_str(), v["code"].as_str()), (200, Some("skipped"), Some("recipient_blocked")), "{v}");
    // Another site is not concerned.
    let (s, v) = send_to(&b, other.id, "zoe@elsewhere.test", &[]).await;
    assert_eq!(s, 202, "{v}");

    // `lists list`: a table, and JSON with a filter.
    let (ok, table, err) = cli(&app, &key, &["lists", "list"]);
    assert!(ok, "{err}");
    assert!(table.contains(" customer.test") && table.contains("rival.test") && table.contains("vip@partner.test"), "{table}");
    assert!(table.contains("(site)") && table.contains(&mid) && table.contains("competitor"), "{table}");
    let (ok, out, err) = cli(&app, &key, &["--json", "lists", "list", "--direction", "send", "--mailbox-id", &mid]);
    assert!(ok, "{err}");
    let listed: Value = serde_json::from_str(&out).unwrap();
    let entries: Vec<&str> = listed["items"].as_array().unwrap().iter().map(|e| e["entry"].as_str().unwrap()).collect();
    assert!(entries.contains(&"rival.test") && entries.contains(&"vip@partner.test"), "{listed}");
    let (ok, out, _) = cli(&app, &key, &["--json", "lists", "list", "--direction", "receive"]);
    assert!(ok);
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["items"], json!([]), "{out}");
    // A bad entry fails with the server's reason.
    let (ok, out, err) = cli(&app, &key, &["lists", "add", "send", "block", "not an entry"]);
    assert!(!ok, "{out}");
    assert!(err.contains("not an entry"), "names what was refused: {err}");

    // `lists remove`: the allow list is gone, and so is its effect.
    let id = allow["id"].as_str().unwrap();
    let (ok, out, err) = cli(&app, &key, &["lists", "remove", id]);
    assert!(ok, "{out}{err}");
    let (_, table, _) = cli(&app, &key, &["lists", "list"]);
    assert!(!table.contains(" customer.test") && table.contains("ex@customer.test"), "{table}");
    let (ok, _, err) = cli(&app, &key, &["lists", "remove", id]);
    assert!(!ok, "removing twice fails: {err}");
    assert!(err.contains(id) || err.contains("not_found") || err.contains("not found"), "{err}");
    // The mailbox allow entry still limits m1; m2 has no allow entry left.
    let (s, v) = send_to(&a, m2.id, "zoe@elsewhere.test", &[]).await;
    assert_eq!(s, 202, "{v}");
    let (s, v) = send_to(&a, m1.id, "zoe@elsewhere.test", &[]).await;
    assert_eq!((s, error_code(&v)), (422, "recipient_blocked"), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_api_and_receive_blocks_at_rcpt() {
    let app = spawn_app().await;
    let (_, a) = app.site_client("alpha").await;
    let (_, b) = app.site_client("beta").await;
    let inbox = mailbox(&a, "inbox").await;
    let boss_box = mailbox(&a, "vip").await;

    // Validation and conflicts.
    let (s, v) = call(
        &a,
        Method::POST,
        "/v1/lists",
        Some(json!({"direction": "receive", "kind": "block", "entry": "not an entry"})),
    )
    .await;
    assert_eq!((s, error_code(&v)), (422, "validation_error"), "{v}");
    let (s, v) = call(
        &a,
        Method::POST,
        "/v1/lists",
        Some(json!({"direction": "sideways", "kind": "block", "entry": "x.test"})),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    let (s, block) = call(
        &a,
        Method::POST,
        "/v1/lists",
        Some(json!({"direction": "receive", "kind": "block", "entry": "spammer.test"})),
    )
    .await;
    assert_eq!(s, 201, "{block}");
    let (s, v) = call(
        &a,
        Method::POST,
        "/v1/lists",
        Some(json!({"direction": "receive", "kind": "block", "entry": "SPAMMER.test"})),
    )
    .await;
    assert_eq!((s, error_code(&v)), (409, "list_entry_exists"), "{v}");
    let (s, v) = call(
        &a,
        Method::POST,
        "/v1/lists",
        Some(
            json!({"direction": "receive", "kind": "allow", "entry": "boss@corp.test",
        "mailbox_id": boss_box.id}),
        ),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let (s, list) = call(&a, Method::GET, "/v1/lists?direction=receive", None).await;
    assert_eq!(
        (s, list["items"].as_array().unwrap().len()),
        (200, 2),
        "{list}"
    );
    let (_, other) = call(&b, Method::GET, "/v1/lists", None).await;
    assert_eq!(other["items"], json!([]), "another site sees none");
    let id = block["id"].as_str().unwrap();
    assert_eq!(
        call(&b, Method::DELETE, &format!("/v1/lists/{id}"), None)
            .await
            .0,
        404,
        "nor deletes one"
    );

    // SMTP: a blocked sender domain gets 550 5.7.1 at RCPT; others are accepted.
    let smtp = app.server.as_ref().unwrap().smtp_addr.unwrap();
    let rcpt = |from: &str, to: &str| {
        vec![
            "EHLO t.test".to_string(),
            format!("MAIL FROM:<{from}>"),
            format!("RCPT TO:<{to}>"),
        ]
    };
    let replies = smtp_dialogue(
        smtp,
        &rcpt("bad@spammer.test", &inbox.address.to_string()),
        None,
    )
    .await;
    assert!(
        replies.last().unwrap().starts_with("550 5.7.1"),
        "{replies:?}"
    );
    let replies = smtp_dialogue(
        smtp,
        &rcpt("friend@ok.test", &inbox.address.to_string()),
        None,
    )
    .await;
    assert!(replies.last().unwrap().starts_with("250"), "{replies:?}");
    // An allow entry on a mailbox: only that sender gets through to it.
    let replies = smtp_dialogue(
        smtp,
        &rcpt("friend@ok.test", &boss_box.address.to_string()),
        None,
    )
    .await;
    assert!(
        replies.last().unwrap().starts_with("550 5.7.1"),
        "{replies:?}"
    );
    let replies = smtp_dialogue(
        smtp,
        &rcpt("Boss+x@Corp.test", &boss_box.address.to_string()),
        None,
    )
    .await;
    assert!(replies.last().unwrap().starts_with("250"), "{replies:?}");

    // Between mailboxes of this server too: a blocked local sender's copy bounces.
    let pest = mailbox(&a, "pest").await;
    let (s, _) = call(
        &a,
        Method::POST,
        "/v1/lists",
        Some(json!({"direction": "receive", "kind": "block",
        "entry": pest.address.to_string(), "mailbox_id": inbox.id})),
    )
    .await;
    assert_eq!(s, 201);
    let sent = a
        .send_message(
            pest.id,
            &text_message(&[inbox.address.as_str()], "Hi", "Hello"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        sent.recipients[0].status,
        DeliveryStatus::Bounced,
        "{sent:?}"
    );

    assert_eq!(
        call(&a, Method::DELETE, &format!("/v1/lists/{id}"), None)
            .await
            .0,
        204
    );
    let replies = smtp_dialogue(
        smtp,
        &rcpt("bad@spammer.test", &inbox.address.to_string()),
        None,
    )
    .await;
    assert!(
        replies.last().unwrap().starts_with("250"),
        "unblocked: {replies:?}"
    );
}

fn dsn(from_header: &str, to: &str, original_id: &str, failed: &str) -> String {
    format!(
        "From: {from_header}\r\nTo: {to}\r\nSubject: Undelivered Mail\r\nMessage-ID: <dsn-{}@mx.test>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n\
         --b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.test\r\n\r\n\
         Final-Recipient: rfc822; {failed}\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 no such user\r\n\r\n\
         --b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{original_id}>\r\nSubject: Hi\r\n\r\n--b--\r\n",
        uuid::Uuid::now_v7().simple()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_bounces_change_nothing_and_only_a_matching_null_sender_report_applies() {
    // remote.test goes to a closed port: its recipients stay deferred.
    let app = spawn_app_with(|c| {
        delivering(c);
        c.delivery
            .routes
            .insert("remote.test".into(), "127.0.0.1:1".into());
        c.delivery.retry_schedule_secs = vec![3600];
    })
    .await;
    let engine = app.server.as_ref().unwrap().engine.clone();
    let smtp = app.server.as_ref().unwrap().smtp_addr.unwrap();
    let (_, a) = app.site_client("alpha").await;
    let ana = mailbox(&a, "ana").await;
    mailbox(&a, "bob").await;
    let sent = a
        .send_message(
            ana.id,
            &text_message(
                &["bob@mailroom.localhost", "carol@remote.test"],
                "Hi",
                "Hello",
            ),
            None,
        )
        .await
        .unwrap();
    wait_recipient(&engine, sent.id, "carol@remote.test", |r| {
        r.status == DeliveryStatus::Deferred
    })
    .await;
    wait_recipient(&engine, sent.id, "bob@mailroom.localhost", |r| {
        r.status == DeliveryStatus::Delivered
    })
    .await;
    let original = engine.store().get_message(sent.id).await.unwrap().unwrap();
    let verp = engine.envelope_sender(&original, ana.address.as_str());
    assert!(
        verp.starts_with("ana+b-") && verp.ends_with("@mailroom.localhost"),
        "{verp}"
    );

    let deliver = |mail_from: String, rcpt: String, body: String| async move {
        let cmds = vec![
            "EHLO mx.test".to_string(),
            format!("MAIL FROM:<{mail_from}>"),
            format!("RCPT TO:<{rcpt}>"),
            "DATA".to_string(),
        ];
        let replies = smtp_dialogue(smtp, &cmds, Some(&body)).await;
        assert!(replies.last().unwrap().starts_with("250"), "{replies:?}");
    };
    let dsn_of = |label: &str| {
        let engine = engine.clone();
        let ana = ana.id;
        let label = label.to_string();
        async move {
            for _ in 0..100 {
                let page = engine
                    .store()
                    .list_messages(
                        ana,
                        &mailroom_store::MessageFilter {
                            limit: 50,
                            ..Default::default()
                        },
                    )
                    .await
                    .unwrap();
                if let Some(m) = page.into_iter().find(|m| {
                    m.headers
                        .iter()
                        .any(|h| h.name.eq_ignore_ascii_case("x-case") && h.value.trim() == label)
                }) {
                    return m;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("report {label} not stored");
        }
    };
    let with_case = |label: &str, body: String| {
        body.replacen("Subject:", &format!("X-Case: {label}\r\nSubject:"), 1)
    };
    let original_header = original.message_id.clone().unwrap();

    // 1. An ordinary sender (not <>) naming the message: stored, ignored.
    deliver(
        "attacker@evil.test".into(),
        ana.address.to_string(),
        with_case(
            "1",
            dsn(
                "attacker@evil.test",
                ana.address.as_str(),
                &original_header,
                "carol@remote.test",
            ),
        ),
    )
    .await;
    let m = dsn_of("1").await;
    assert!(
        m.dsn
            .as_deref()
            .unwrap()
            .starts_with("ignored: the envelope sender is not the null sender"),
        "{:?}",
        m.dsn
    );
    // 2. The null sender, but to the plain address (no token): ignored.
    deliver(
        String::new(),
        ana.address.to_string(),
        with_case(
            "2",
            dsn(
                "MAILER-DAEMON@mx.test",
                ana.address.as_str(),
                &original_header,
                "carol@remote.test",
            ),
        ),
    )
    .await;
    assert!(
        dsn_of("2")
            .await
            .dsn
            .unwrap()
            .starts_with("ignored: not sent to a bounce address")
    );
    // 3. Null sender, our VERP address, but for the delivered recipient: ignored.
    deliver(
        String::new(),
        verp.clone(),
        with_case(
            "3",
            dsn(
                "MAILER-DAEMON@mx.test",
                &verp,
                &original_header,
                "bob@mailroom.localhost",
            ),
        ),
    )
    .await;
    assert_eq!(
        dsn_of("3").await.dsn.as_deref(),
        Some("ignored: the recipient is already delivered")
    );
    let now = engine.store().get_message(sent.id).await.unwrap().unwrap();
    let status = |m: &mailroom_core::Message, a: &str| {
        m.recipients
            .iter()
            .find(|r| r.address.as_str() == a)
            .unwrap()
            .status
    };
    assert_eq!(
        status(&now, "bob@mailroom.localhost"),
        DeliveryStatus::Delivered
    );
    assert_eq!(status(&now, "carol@remote.test"), DeliveryStatus::Deferred);
    for who in ["bob@mailroom.localhost", "carol@remote.test"] {
        assert!(
            engine
                .store()
                .get_suppression(ana.site_id, who)
                .await
                .unwrap()
                .is_none(),
            "{who} not suppressed"
        );
    }
    // 4. A token for a message another mailbox sent is not proof either.
    let forged = verp.replacen("ana+", "bob+", 1);
    deliver(
        String::new(),
        forged.clone(),
        with_case(
            "4",
            dsn(
                "MAILER-DAEMON@mx.test",
                &forged,
                &original_header,
                "carol@remote.test",
            ),
        ),
    )
    .await;
    // (stored in bob's mailbox; carol stays deferred)
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        status(
            &engine.store().get_message(sent.id).await.unwrap().unwrap(),
            "carol@remote.test"
        ),
        DeliveryStatus::Deferred
    );

    // 5. The real thing: null sender, our VERP address, a pending recipient.
    deliver(
        String::new(),
        verp.clone(),
        with_case(
            "5",
            dsn(
                "MAILER-DAEMON@mx.test",
                &verp,
                &original_header,
                "carol@remote.test",
            ),
        ),
    )
    .await;
    assert_eq!(dsn_of("5").await.dsn.as_deref(), Some("applied"));
    let now = engine.store().get_message(sent.id).await.unwrap().unwrap();
    assert_eq!(status(&now, "carol@remote.test"), DeliveryStatus::Bounced);
    assert!(
        engine
            .store()
            .get_suppression(ana.site_id, "carol@remote.test")
            .await
            .unwrap()
            .is_some()
    );
    let records = engine.store().list_dsn_records(sent.id).await.unwrap();
    assert!(
        records
            .iter()
            .any(|r| r.recipient == "carol@remote.test" && r.decision == "applied"),
        "{records:?}"
    );
    // The decision is visible through the API too.
    let (_, msgs) = call(
        &a,
        Method::GET,
        &format!("/v1/mailboxes/{}/messages?direction=inbound", ana.id),
        None,
    )
    .await;
    assert!(
        msgs["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["dsn"] == "applied"),
        "{msgs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_smtp_hosts_and_mx_answers_are_refused_unless_allowed() {
    let dns = TestDns::start().await;
    dns.mx("intranet.test", 10, "mx.intranet.test");
    dns.a("mx.intranet.test", std::net::Ipv4Addr::new(127, 0, 0, 1));
    let strict = spawn_app_with(|c| {
        c.delivery.enabled = true;
        c.dns.nameservers = vec![dns.addr.to_string()];
    })
    .await;
    let (site, a) = strict.site_client("alpha").await;
    let token = |host: &str, port: u16| {
        json!({"site_id": site.id.to_string(), "token_type": "email", "identifier": "a@alpha.test",
            "token_value": {"password": "pw", "smtpHost": host, "smtpPort": port}})
    };
    // Loopback, private, link-local (metadata) and names that resolve there: refused.
    let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let open_port = open.local_addr().unwrap().port();
    let mut messages = Vec::new();
    for (host, port) in [
        ("127.0.0.1", open_port),
        ("127.0.0.1", 1),
        ("::1", 25),
        ("10.0.0.5", 587),
        ("169.254.169.254", 80),
        ("localhost", 25),
    ] {
        let (s, v) = call(
            &a,
            Method::POST,
            "/v1/secure-tokens",
            Some(token(host, port)),
        )
        .await;
        assert_eq!(
            (s, error_code(&v)),
            (422, "forbidden_smtp_host"),
            "{host}: {v}"
        );
        if host == "127.0.0.1" {
            messages.push(v["error"]["message"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(
        messages[0], messages[1],
        "an open and a closed port answer alike"
    );
    // The settings' `channels.email.outgoingServer` (the SMTP host of a token without
    // `smtpHost`) gets the same guard when the settings are saved.
    let settings = |host: &str| {
        json!({"channels": {"email": {"email": "a@alpha.test", "enabled": true,
            "outgoingServer": host, "outgoingPort": 587}}})
    };
    for host in ["127.0.0.1", "::1", "[::1]", "10.0.0.5", "169.254.169.254", "localhost"] {
        let (s, v) = call(&a, Method::PUT, "/v1/settings", Some(settings(host))).await;
        assert_eq!(
            (s, error_code(&v)),
            (422, "forbidden_smtp_host"),
            "{host}: {v}"
        );
        assert!(
            v["error"]["message"].as_str().unwrap().contains("outgoingServer"),
            "names the field: {v}"
        );
    }
    let (_, kept) = call(&a, Method::GET, "/v1/settings", None).await;
    assert!(kept["channels"]["email"]["outgoingServer"].is_null(), "nothing saved: {kept}");
    let (s, v) = call(&a, Method::PUT, "/v1/settings", Some(settings("9.9.9.9"))).await;
    assert_eq!(s, 200, "a public address is kept: {v}");
    // A webhook to loopback is refused too (the same guard).
    let (s, _) = call(
        &a,
        Method::POST,
        "/v1/webhooks",
        Some(json!({"url": "http://127.0.0.1:9/hook"})),
    )
    .await;
    assert_eq!(s, 422);

    // An MX answer on loopback: the recipient fails with 5.7.1, nothing is connected to.
    let mb = mailbox(&a, "ana").await;
    let sent = a
        .send_message(
            mb.id,
            &text_message(&["user@intranet.test"], "Hi", "Hello"),
            None,
        )
        .await
        .unwrap();
    let engine = &strict.server.as_ref().unwrap().engine;
    let r = wait_recipient(engine, sent.id, "user@intranet.test", |r| {
        r.status.is_final()
    })
    .await;
    assert_eq!(r.status, DeliveryStatus::Failed, "{r:?}");
    assert!(
        r.last_reply.as_deref().unwrap().starts_with("5.7.1")
            && r.last_reply.as_deref().unwrap().contains("non-public"),
        "{r:?}"
    );
    // `user@localhost` (no MX: the name itself, which is loopback) is refused the same way:
    // it never goes to 127.0.0.1:25.
    let sent = a
        .send_message(
            mb.id,
            &text_message(&["user@localhost"], "Hi", "Hello"),
            None,
        )
        .await
        .unwrap();
    let r = wait_recipient(engine, sent.id, "user@localhost", |r| r.status.is_final()).await;
    assert_eq!(r.status, DeliveryStatus::Failed, "{r:?}");
    assert!(
        r.last_reply.as_deref().unwrap().starts_with("5.7.1")
            && r.last_reply.as_deref().unwrap().contains("non-public"),
        "{r:?}"
    );

    // With security.allow_private_targets (development), all of it is allowed.
    let open_app = spawn_app_with(|c| {
        c.delivery.enabled = true;
        c.delivery.retry_schedule_secs = vec![3600];
        c.dns.nameservers = vec![dns.addr.to_string()];
        c.security.allow_private_targets = true;
    })
    .await;
    let (site, a) = open_app.site_client("alpha").await;
    let (s, v) = call(&a, Method::POST, "/v1/secure-tokens", Some(json!({"site_id": site.id.to_string(), "token_type": "email",
        "identifier": "a@alpha.test", "token_value": {"password": "pw", "smtpHost": "127.0.0.1", "smtpPort": 2525}}))).await;
    assert_eq!(s, 201, "{v}");
    let settings = json!({"channels": {"email": {"email": "a@alpha.test", "outgoingServer": "127.0.0.1"}}});
    let (s, v) = call(&a, Method::PUT, "/v1/settings", Some(settings)).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = call(
        &a,
        Method::POST,
        "/v1/webhooks",
        Some(json!({"url": "http://127.0.0.1:9/hook"})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let mb = mailbox(&a, "ana").await;
    let sent = a
        .send_message(
            mb.id,
            &text_message(&["user@intranet.test"], "Hi", "Hello"),
            None,
        )
        .await
        .unwrap();
    let engine = &open_app.server.as_ref().unwrap().engine;
    let r = wait_recipient(engine, sent.id, "user@intranet.test", |r| {
        r.status != DeliveryStatus::Queued && r.status != DeliveryStatus::Sending
    })
    .await;
    assert!(
        !r.last_reply
            .as_deref()
            .unwrap_or_default()
            .contains("non-public"),
        "attempted: {r:?}"
    );
    drop(open);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loop_protection_flags_auto_replies_and_limits_sends_into_a_thread() {
    let app = spawn_app_with(|c| c.limits.thread_send_limit = 3).await;
    let smtp = app.server.as_ref().unwrap().smtp_addr.unwrap();
    let (_, a) = app.site_client("alpha").await;
    let mb = mailbox(&a, "ana").await;
    // The live event stream, open before the mail arrives: its payloads carry the flag.
    let sse = reqwest::Client::new()
        .get(format!(
            "{}/v1/events/stream?types=message.received&mailbox_id={}",
            app.url, mb.id
        ))
        .bearer_auth(&app.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(sse.status(), 200);
    let mut sse = sse.bytes_stream();
    let auto = format!(
        "From: robot@remote.test\r\nTo: {}\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <ooo-1@remote.test>\r\n\r\nAway.\r\n",
        mb.address
    );
    let cmds = vec![
        "EHLO r.test".to_string(),
        "MAIL FROM:<robot@remote.test>".into(),
        format!("RCPT TO:<{}>", mb.address),
        "DATA".into(),
    ];
    assert!(
        smtp_dialogue(smtp, &cmds, Some(&auto))
            .await
            .last()
            .unwrap()
            .starts_with("250")
    );
    let human = format!(
        "From: pat@remote.test\r\nTo: {}\r\nSubject: Question\r\nMessage-ID: <q-1@remote.test>\r\n\r\nHello?\r\n",
        mb.address
    );
    let cmds = vec![
        "EHLO r.test".to_string(),
        "MAIL FROM:<pat@remote.test>".into(),
        format!("RCPT TO:<{}>", mb.address),
        "DATA".into(),
    ];
    assert!(
        smtp_dialogue(smtp, &cmds, Some(&human))
            .await
            .last()
            .unwrap()
            .starts_with("250")
    );

    // Both message.received payloads arrive on the stream, flagged as they are.
    let mut flags = std::collections::HashMap::new();
    let mut buf = String::new();
    while flags.len() < 2 {
        use futures::StreamExt;
        let chunk = tokio::time::timeout(Duration::from_secs(10), sse.next())
            .await
            .expect("events within 10 s")
            .unwrap()
            .unwrap();
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let data: String = block
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(str::trim)
                .collect();
            if let Ok(event) = serde_json::from_str::<Value>(&data)
                && let Some(subject) = event["data"]["subject"].as_str()
            {
                flags.insert(subject.to_string(), event["data"]["auto_submitted"].clone());
            }
        }
    }
    assert_eq!(flags["Out of office"], json!(true), "{flags:?}");
    assert_eq!(flags["Question"], json!(false), "{flags:?}");

    let (_, list) = call(
        &a,
        Method::GET,
        &format!("/v1/mailboxes/{}/messages?direction=inbound", mb.id),
        None,
    )
    .await;
    let items = list["items"].as_array().unwrap();
    let ooo = items
        .iter()
        .find(|m| m["subject"] == "Out of office")
        .unwrap();
    let question = items.iter().find(|m| m["subject"] == "Question").unwrap();
    assert_eq!(
        (
            ooo["auto_submitted"].as_bool(),
            question["auto_submitted"].as_bool()
        ),
        (Some(true), Some(false))
    );

    // A reply to the auto-reply is refused unless the call allows it.
    let (s, v) = call(
        &a,
        Method::POST,
        &format!("/v1/messages/{}/reply", ooo["id"].as_str().unwrap()),
        Some(json!({"text": "Thanks"})),
    )
    .await;
    assert_eq!((s, error_code(&v)), (422, "auto_reply_loop"), "{v}");
    let (s, v) = call(
        &a,
        Method::POST,
        &format!("/v1/messages/{}/reply", ooo["id"].as_str().unwrap()),
        Some(json!({"text": "Thanks", "allow_auto_reply": true})),
    )
    .await;
    assert_eq!(s / 100, 2, "{v}");

    // At most three sends into one thread per hour.
    let qid = question["id"].as_str().unwrap();
    for n in 0..3 {
        let (s, v) = call(
            &a,
            Method::POST,
            &format!("/v1/messages/{qid}/reply"),
            Some(json!({"text": format!("answer {n}")})),
        )
        .await;
        assert_eq!(s / 100, 2, "{n}: {v}");
    }
    let (s, v) = call(
        &a,
        Method::POST,
        &format!("/v1/messages/{qid}/reply"),
        Some(json!({"text": "one more"})),
    )
    .await;
    assert_eq!((s, error_code(&v)), (422, "thread_send_limit"), "{v}");

    // Caller-supplied trace and authentication headers are refused.
    for header in [
        "Authentication-Results",
        "ARC-Seal",
        "arc-message-signature",
        "Received",
    ] {
        let req = json!({"to": ["pat@remote.test"], "subject": "x", "text": "y", "headers": {header: "forged"}});
        let (s, v) = call(
            &a,
            Method::POST,
            &format!("/v1/mailboxes/{}/messages", mb.id),
            Some(req),
        )
        .await;
        assert_eq!(
            (s, error_code(&v)),
            (422, "invalid_header"),
            "{header}: {v}"
        );
    }
    // Tool config names that MCP's built-in tools use are refused at creation.
    let (s, v) = call(
        &a,
        Method::POST,
        "/v1/tool-configs",
        Some(json!({"name": "send_message", "tool": "send_email", "prompt": "p"})),
    )
    .await;
    assert_eq!(
        (s, error_code(&v)),
        (422, "invalid_tool_config_name"),
        "{v}"
    );
}

/// The SMTP account is a route of the durable queue: accepted (201) by a server without a
/// delivery worker, the server SIGKILLed, a new one started: the email reaches the SMTP
/// server then, and shows in the queue before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_account_sends_survive_sigkill_between_acceptance_and_delivery() {
    use common::process::{serve_env, stop};
    let dir = tempfile::tempdir().unwrap();
    let (port, seen) =
        submission_server(Security::StartTls, "agent@alpha.test", "pw-sigkill").await;
    let env = [
        ("MAILROOM_DELIVERY_ENABLED", "false"),
        ("MAILROOM_SECURITY_ALLOW_PRIVATE_TARGETS", "true"),
    ];
    let mut first = serve_env(dir.path(), &[], &env);
    let key = std::fs::read_to_string(dir.path().join("admin-api-key"))
        .unwrap()
        .trim()
        .to_string();
    let c = Client::new(&first.url, key.clone()).unwrap();
    let (_, sites) = call(&c, Method::GET, "/v1/sites", None).await;
    let site = sites["items"][0]["id"].as_str().unwrap().to_string();
    let (s, v) = call(
        &c,
        Method::PUT,
        "/v1/settings",
        Some(json!({"channels": {"email": {"email": "agent@alpha.test"}}})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = call(
        &c,
        Method::POST,
        "/v1/secure-tokens",
        Some(
            json!({"site_id": site, "token_type": "email", "identifier": "agent@alpha.test",
        "token_value": {"password": "pw-sigkill", "smtpHost": "127.0.0.1", "smtpPort": port}}),
        ),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = call(
        &c,
        Method::POST,
        "/v1/send-email",
        Some(json!({"email": "lead@customer.test", "subject": "Durable",
        "message": "This one must arrive.", "site_id": site})),
    )
    .await;
    assert_eq!((s, v["provider"].as_str()), (201, Some("smtp")), "{v}");
    let (_, queue) = call(&c, Method::GET, "/v1/queue", None).await;
    assert!(
        queue.to_string().contains("lead@customer.test"),
        "the send is in the queue: {queue}"
    );

    first.child.kill().unwrap();
    first.child.wait().unwrap();
    assert!(
        seen.lock().unwrap().data.is_empty(),
        "not delivered before the crash"
    );

    let second = serve_env(
        dir.path(),
        &[],
        &[("MAILROOM_SECURITY_ALLOW_PRIVATE_TARGETS", "true")],
    );
    for _ in 0..200 {
        if !seen.lock().unwrap().data.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = seen.lock().unwrap().clone();
    assert_eq!(
        got.data.len(),
        1,
        "delivered exactly once after the restart: {got:?}"
    );
    assert!(
        got.data[0].contains("Subject: Durable") && got.rcpt_to[0].contains("lead@customer.test")
    );
    assert_eq!(got.over_tls, vec![true]);
    stop(second);
}
