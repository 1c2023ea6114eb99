//! The `send_email` tool over HTTP (seed 002): the agent_email channel, the placeholder
//! recipient, the seed's error codes, and the SMTP fallback through a real SMTP dialogue with
//! AUTH PLAIN against a small server run by the test.

mod common;

use common::submission::{Security, submission_server};
use common::*;
use mailroom_client::Method;
use serde_json::{Value, json};

fn code_of(v: &Value) -> &str {
    v["code"].as_str().unwrap_or("")
}

fn body(site: impl std::fmt::Display, email: &str) -> Value {
    json!({"email": email, "subject": "Thank you for your interest",
        "message": "Dear Customer,\n\nThank you for reaching out.\n\nBest regards,\nSupport Team",
        "site_id": site.to_string(), "from": "Support Team", "agent_id": "agent-1", "lead_id": "lead-9"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_channel_sends_from_the_mailbox_and_errors_have_the_seed_shape() {
    let app = spawn_app().await;
    let (site, a) = app.site_client("alpha").await;
    let (other, _) = app.site_client("beta").await;

    // Invalid input: 400 INVALID_REQUEST, before anything else.
    let (s, v) = call(&a, Method::POST, "/v1/send-email", Some(body(site.id, "not-an-address"))).await;
    assert_eq!((s, error_code(&v), &v["success"]), (400, "INVALID_REQUEST", &json!(false)), "{v}");
    let (s, v) = call(&a, Method::POST, "/v1/send-email", Some(json!({"email": "a@b.test", "site_id": site.id.to_string()}))).await;
    assert_eq!((s, error_code(&v)), (400, "INVALID_REQUEST"), "{v}");

    // No settings: 404 SITE_CONFIG_NOT_FOUND; another site's id answers the same.
    let (s, v) = call(&a, Method::POST, "/v1/send-email", Some(body(site.id, "lead@customer.test"))).await;
    assert_eq!((s, error_code(&v)), (404, "SITE_CONFIG_NOT_FOUND"), "{v}");
    let (s, v) = call(&a, Method::POST, "/v1/tools/send_email/invoke", Some(body(other.id, "lead@customer.test"))).await;
    assert_eq!((s, error_code(&v)), (404, "SITE_CONFIG_NOT_FOUND"), "{v}");

    // Settings without any channel: 400 EMAIL_NOT_CONFIGURED.
    let (s, _) = call(&a, Method::PUT, "/v1/settings", Some(json!({"channels": {}}))).await;
    assert_eq!(s, 200);
    let (s, v) = call(&a, Method::POST, "/v1/send-email", Some(body(site.id, "lead@customer.test"))).await;
    assert_eq!((s, error_code(&v)), (400, "EMAIL_NOT_CONFIGURED"), "{v}");

    // The agent_email channel, active.
    let mb = mailbox(&a, "sales").await;
    let (s, _) = call(&a, Method::PUT, "/v1/settings", Some(json!({"channels": {"agent_email": {"status": "active",
        "username": mb.address.local_part(), "domain": mb.address.domain()}},
        "signature_html": "<p>-- <b>Sales at Alpha</b></p>"}))).await;
    assert_eq!(s, 200);
    let (s, v) = call(&a, Method::POST, "/v1/tools/send_email/invoke", Some(body(site.id, "Lead@Customer.test"))).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!((v["success"].as_bool(), v["status"].as_str()), (Some(true), Some("sent")));
    assert_eq!(v["sender"], mb.address.as_str());
    assert_eq!(v["recipient"].as_str().map(str::to_ascii_lowercase).as_deref(), Some("lead@customer.test"));
    assert_eq!(v["message_preview"].as_str().unwrap(), "Dear Customer,\n\nThank you for reaching out.\n\nBest regards,\nSupport Team");
    let thread_id = v["thread_id"].as_str().expect("thread_id").to_string();
    let external = v["external_message_id"].as_str().unwrap().to_string();
    assert!(v["email_id"].is_string() && v["sent_at"].is_string());

    // The mailbox holds the sent message, with the display name and the signature.
    let (s, list) = call(&a, Method::GET, &format!("/v1/mailboxes/{}/messages?direction=outbound", mb.id), None).await;
    assert_eq!(s, 200);
    let sent = &list["items"][0];
    assert_eq!(sent["thread_id"].as_str(), Some(thread_id.as_str()));
    assert_eq!(sent["subject"], "Thank you for your interest");
    let raw = a.raw_request(Method::GET, &format!("/v1/messages/{}/raw", sent["id"].as_str().unwrap()), None, &[]).await.unwrap();
    let raw = raw.text();
    assert!(raw.contains("Support Team"), "display name override: {raw}");
    assert!(raw.contains("Sales at Alpha"), "signature: {raw}");
    assert!(raw.contains(&external));

    // The send and the run are recorded.
    let engine = &app.server.as_ref().unwrap().engine;
    let rec = engine.store().find_sent_email(site.id, "agent_email", &external).await.unwrap().expect("sent email recorded");
    assert_eq!(rec.recipient, "lead@customer.test");
    assert_eq!(rec.context["lead_id"], "lead-9");
    let (_, runs) = call(&a, Method::GET, "/v1/tool-runs?tool=send_email", None).await;
    let runs = runs["items"].as_array().unwrap();
    assert!(runs.iter().any(|r| r["status"] == "sent" && r["message_id"] == sent["id"]), "{runs:?}");
    assert!(runs.iter().any(|r| r["code"] == "SITE_CONFIG_NOT_FOUND"), "{runs:?}");

    // The placeholder recipient: 200 skipped, nothing sent.
    let (s, v) = call(&a, Method::POST, "/v1/send-email", Some(body(site.id, "no-email@example.com"))).await;
    assert_eq!((s, v["status"].as_str(), v["success"].as_bool()), (200, Some("skipped"), Some(true)), "{v}");
    let (_, list) = call(&a, Method::GET, &format!("/v1/mailboxes/{}/messages?direction=outbound", mb.id), None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    // The same email again is a duplicate: 200 skipped, naming the earlier email.
    let (s, v) = call(&a, Method::POST, "/v1/send-email", Some(body(site.id, "lead@customer.test"))).await;
    assert_eq!((s, v["status"].as_str(), code_of(&v)), (200, Some("skipped"), "duplicate_email"), "{v}");
    assert!(v["duplicate_of"].is_string(), "{v}");

    // A suppressed recipient: 200 skipped, nothing sent.
    let engine = &app.server.as_ref().unwrap().engine;
    engine.store().put_suppression(&mailroom_core::model::Suppression { site_id: site.id, address: mailroom_core::EmailAddress::parse("gone@customer.test").unwrap(),
        reason: "hard_bounce".into(), detail: None, created_at: chrono::Utc::now() }, None).await.unwrap();
    let (s, v) = call(&a, Method::POST, "/v1/send-email", Some(body(site.id, "gone@customer.test"))).await;
    assert_eq!((s, v["status"].as_str(), code_of(&v)), (200, Some("skipped"), "suppressed"), "{v}");

    // A dry run renders without sending.
    let mut dry = body(site.id, "other-lead@customer.test");
    dry["dry_run"] = json!(true);
    let (s, v) = call(&a, Method::POST, "/v1/send-email", Some(dry)).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("dry_run")), "{v}");
    assert!(v["email"]["html"].as_str().unwrap().contains("Sales at Alpha"));
    let (_, list) = call(&a, Method::GET, &format!("/v1/mailboxes/{}/messages?direction=outbound", mb.id), None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

/// Waits until the submission server saw `n` messages.
async fn wait_data(seen: &std::sync::Arc<std::sync::Mutex<common::submission::Seen>>, n: usize) -> common::submission::Seen {
    for _ in 0..300 {
        let s = seen.lock().unwrap().clone();
        if s.data.len() >= n {
            return s;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the SMTP server never got {n} message(s): {:?}", seen.lock().unwrap());
}

/// The message a tool send recorded (the SMTP account's queued message).
async fn queued_message(app: &TestApp, site: mailroom_core::SiteId, external: &str) -> mailroom_core::MessageId {
    let engine = &app.server.as_ref().unwrap().engine;
    let rec = engine.store().find_sent_email(site, "smtp", external).await.unwrap().expect("recorded");
    rec.message_id.expect("the SMTP send is a queued message")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_fallback_is_a_queue_route_with_auth_and_never_shows_the_password() {
    const PASSWORD: &str = "s3cret-SMTP-pa55";
    let app = spawn_app_with(delivering).await;
    let (site, a) = app.site_client("alpha").await;
    let (port, seen) = submission_server(Security::Plain, "agent@alpha.test", PASSWORD).await;

    // The agent channel is inactive; SMTP is configured but its token is missing.
    let settings = json!({"channels": {"agent_email": {"status": "inactive", "username": "x", "domain": "y.test"},
        "email": {"email": "agent@alpha.test", "enabled": true}}});
    let (s, _) = call(&a, Method::PUT, "/v1/settings", Some(settings)).await;
    assert_eq!(s, 200);
    let (s, v) = call(&a, Method::POST, "/v1/send-email", Some(body(site.id, "lead@customer.test"))).await;
    assert_eq!((s, error_code(&v)), (404, "EMAIL_CONFIG_NOT_FOUND"), "{v}");

    // An invalid configured address: 400 INVALID_CONFIGURED_EMAIL.
    let (s, _) = call(&a, Method::PUT, "/v1/settings", Some(json!({"channels": {"email": {"email": "not an address"}}}))).await;
    assert_eq!(s, 200);
    let (s, v) = call(&a, Method::POST, "/v1/send-email", Some(body(site.id, "lead@customer.test"))).await;
    assert_eq!((s, error_code(&v)), (400, "INVALID_CONFIGURED_EMAIL"), "{v}");

    let settings = json!({"channels": {"agent_email": {"status": "inactive", "username": "x", "domain": "y.test"},
        "email": {"email": "agent@alpha.test", "enabled": true}}});
    call(&a, Method::PUT, "/v1/settings", Some(settings)).await;
    // A plain-text server: the token must say so explicitly, or no password is ever sent.
    let (s, tok) = call(&a, Method::POST, "/v1/secure-tokens", Some(json!({"site_id": site.id.to_string(), "token_type": "email",
        "identifier": "agent@alpha.test", "token_value": {"email": "agent@alpha.test", "password": PASSWORD,
        "smtpHost": "127.0.0.1", "smtpPort": port, "smtpSecurity": "none", "imapHost": "127.0.0.1", "imapPort": 993}}))).await;
    assert_eq!(s, 201, "{tok}");

    let (s, v) = call(&a, Method::POST, "/v1/send-email", Some(body(site.id, "lead@customer.test"))).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!((v["status"].as_str(), v["sender"].as_str(), v["provider"].as_str()), (Some("sent"), Some("agent@alpha.test"), Some("smtp")));
    let external = v["external_message_id"].as_str().unwrap().to_string();
    assert!(!v.to_string().contains(PASSWORD));

    // Queued, then submitted by the delivery worker with AUTH PLAIN and the stored credentials.
    let id = queued_message(&app, site.id, &external).await;
    let engine = &app.server.as_ref().unwrap().engine;
    wait_recipient(engine, id, "lead@customer.test", |r| r.status == mailroom_core::DeliveryStatus::Delivered).await;
    let seen = wait_data(&seen, 1).await;
    assert_eq!(seen.auth, vec![("agent@alpha.test".to_string(), PASSWORD.to_string())]);
    assert!(seen.mail_from[0].contains("agent@alpha.test"), "{seen:?}");
    assert!(seen.rcpt_to[0].contains("lead@customer.test"), "{seen:?}");
    let data = &seen.data[0];
    assert!(data.contains("Subject: Thank you for your interest") && data.contains(&external), "{data}");
    assert!(data.contains("Support Team"));

    // No tool run and no listing holds the password.
    let (_, runs) = call(&a, Method::GET, "/v1/tool-runs?tool=send_email", None).await;
    assert!(runs["items"].as_array().unwrap().iter().any(|r| r["status"] == "sent" && r["decision"]["provider"] == "smtp"), "{runs}");
    assert!(!runs.to_string().contains(PASSWORD));
    // The tool answered once queued; the final outcome is in the tool run, listed and read.
    let run = runs["items"].as_array().unwrap().iter().find(|r| r["message_id"] == json!(id)).expect("the run names the queued message").clone();
    assert_eq!(run["delivery"]["status"], "delivered", "{run}");
    assert_eq!(run["delivery"]["recipients"][0]["address"], "lead@customer.test", "{run}");
    assert_eq!(run["delivery"]["recipients"][0]["status"], "delivered", "{run}");
    let (_, got) = call(&a, Method::GET, &format!("/v1/tool-runs/{}", run["id"].as_str().unwrap()), None).await;
    assert_eq!((got["delivery"]["status"].as_str(), got["outputs"]["status"].as_str()), (Some("delivered"), Some("sent")), "{got}");
    let (_, tokens) = call(&a, Method::GET, "/v1/secure-tokens", None).await;
    assert!(!tokens.to_string().contains(PASSWORD) && !tok.to_string().contains(PASSWORD));

    // A wrong password on the server side: queued (201), then deferred by the worker with
    // the server's refusal, never the secret.
    let (port2, _) = submission_server(Security::Plain, "agent@alpha.test", "another-password").await;
    call(&a, Method::POST, "/v1/secure-tokens", Some(json!({"site_id": site.id.to_string(), "token_type": "email",
        "identifier": "agent@alpha.test", "token_value": {"email": "agent@alpha.test", "password": PASSWORD,
        "smtpHost": "127.0.0.1", "smtpPort": port2, "smtpSecurity": "none"}}))).await;
    let (s, v) = call(&a, Method::POST, "/v1/send-email", Some(body(site.id, "lead2@customer.test"))).await;
    assert_eq!(s, 201, "{v}");
    let id = queued_message(&app, site.id, v["external_message_id"].as_str().unwrap()).await;
    let r = wait_recipient(engine, id, "lead2@customer.test", |r| r.status == mailroom_core::DeliveryStatus::Deferred).await;
    let reply = r.last_reply.unwrap_or_default();
    assert!(reply.contains("authentication") && !reply.contains(PASSWORD), "{reply}");
    // The tool run shows the deferral and the server's reply, not `delivered`.
    let (_, runs) = call(&a, Method::GET, "/v1/tool-runs?tool=send_email", None).await;
    let run = runs["items"].as_array().unwrap().iter().find(|r| r["message_id"] == json!(id)).expect("the run names the queued message").clone();
    assert_eq!(run["delivery"]["status"], "deferred", "{run}");
    let run_reply = run["delivery"]["recipients"][0]["last_reply"].as_str().unwrap_or_default();
    assert!(run_reply.contains("authentication") && !run_reply.contains(PASSWORD), "{run}");
    // A run that sent nothing has no delivery.
    assert!(runs["items"].as_array().unwrap().iter().filter(|r| r["message_id"].is_null()).all(|r| r.get("delivery").is_none()), "{runs}");

    // Agent channel active but its mailbox is gone, SMTP still there: falls back (201).
    call(&a, Method::POST, "/v1/secure-tokens", Some(json!({"site_id": site.id.to_string(), "token_type": "email",
        "identifier": "agent@alpha.test", "token_value": {"email": "agent@alpha.test", "password": PASSWORD,
        "smtpHost": "127.0.0.1", "smtpPort": port, "smtpSecurity": "none"}}))).await;
    call(&a, Method::PUT, "/v1/settings", Some(json!({"channels": {"agent_email": {"status": "active", "username": "gone", "domain": "nowhere.test"},
        "email": {"email": "agent@alpha.test"}}}))).await;
    let (s, v) = call(&a, Method::POST, "/v1/send-email", Some(body(site.id, "lead3@customer.test"))).await;
    assert_eq!((s, v["status"].as_str()), (201, Some("sent")), "{v}");
    // Without SMTP, the same failure is seed 002's AGENTMAIL_SEND_FAILED.
    call(&a, Method::PUT, "/v1/settings", Some(json!({"channels": {"agent_email": {"status": "active", "username": "gone", "domain": "nowhere.test"}}}))).await;
    let (s, v) = call(&a, Method::POST, "/v1/send-email", Some(body(site.id, "lead4@customer.test"))).await;
    assert_eq!((s, error_code(&v)), (500, "AGENTMAIL_SEND_FAILED"), "{v}");
}

/// The SMTP channel over implicit TLS (as on port 465) and STARTTLS (as on 587): the
/// submission reaches the server encrypted, with AUTH; with no `smtpSecurity`, a server that
/// offers no TLS is never sent the password; a 451 is retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_channel_submits_over_tls_never_sends_a_password_in_clear_and_retries_a_451() {
    const PASSWORD: &str = "tls-pa55word";
    let app = spawn_app_with(delivering).await;
    let engine = &app.server.as_ref().unwrap().engine;
    let (site, a) = app.site_client("alpha").await;
    let settings = json!({"channels": {"email": {"email": "agent@alpha.test", "enabled": true}}});
    assert_eq!(call(&a, Method::PUT, "/v1/settings", Some(settings)).await.0, 200);
    for (n, (security, setting)) in [(Security::Tls, Some("tls")), (Security::StartTls, Some("starttls")), (Security::StartTls, None)].into_iter().enumerate() {
        let (port, seen) = submission_server(security, "agent@alpha.test", PASSWORD).await;
        let mut value = json!({"email": "agent@alpha.test", "password": PASSWORD, "smtpHost": "127.0.0.1", "smtpPort": port});
        if let Some(setting) = setting {
            value["smtpSecurity"] = json!(setting);
        }
        let (s, _) = call(&a, Method::POST, "/v1/secure-tokens", Some(json!({"site_id": site.id.to_string(), "token_type": "email",
            "identifier": "agent@alpha.test", "token_value": value}))).await;
        assert!(s == 200 || s == 201, "{s}");
        // The first submission gets a 451: the worker retries it.
        seen.lock().unwrap().tempfail_data = 1;
        let to = format!("tls{n}@customer.test");
        let (s, v) = call(&a, Method::POST, "/v1/send-email", Some(body(site.id, &to))).await;
        assert_eq!((s, v["status"].as_str(), v["provider"].as_str()), (201, Some("sent"), Some("smtp")), "{setting:?}: {v}");
        let id = queued_message(&app, site.id, v["external_message_id"].as_str().unwrap()).await;
        let r = wait_recipient(engine, id, &to, |r| r.status == mailroom_core::DeliveryStatus::Delivered).await;
        assert_eq!(r.attempts, 2, "a 451, then delivered: {r:?}");
        let seen = wait_data(&seen, 1).await;
        assert_eq!(seen.over_tls, vec![true], "{setting:?}: {seen:?}");
        assert_eq!(seen.auth.len(), 2, "one login per attempt: {seen:?}");
        assert!(seen.rcpt_to.iter().all(|r| r.contains(&to)) && seen.data[0].contains("Subject: Thank you for your interest"), "{seen:?}");
    }

    // A plain-text server and no `smtpSecurity`: TLS is required, so the attempt is deferred
    // and the server never sees AUTH.
    let (port, seen) = submission_server(Security::Plain, "agent@alpha.test", PASSWORD).await;
    call(&a, Method::POST, "/v1/secure-tokens", Some(json!({"site_id": site.id.to_string(), "token_type": "email",
        "identifier": "agent@alpha.test", "token_value": {"email": "agent@alpha.test", "password": PASSWORD,
        "smtpHost": "127.0.0.1", "smtpPort": port}}))).await;
    let (s, v) = call(&a, Method::POST, "/v1/send-email", Some(body(site.id, "plain@customer.test"))).await;
    assert_eq!(s, 201, "{v}");
    let id = queued_message(&app, site.id, v["external_message_id"].as_str().unwrap()).await;
    let r = wait_recipient(engine, id, "plain@customer.test", |r| r.status == mailroom_core::DeliveryStatus::Deferred).await;
    assert!(r.last_reply.as_deref().unwrap_or_default().contains("STARTTLS"), "{r:?}");
    let seen = seen.lock().unwrap().clone();
    assert!(seen.auth.is_empty() && seen.data.is_empty(), "{seen:?}");

    // An unknown security setting is refused when the token is saved, naming the field.
    let (s, v) = call(&a, Method::POST, "/v1/secure-tokens", Some(json!({"site_id": site.id.to_string(), "token_type": "email",
        "identifier": "agent@alpha.test", "token_value": {"email": "agent@alpha.test", "password": PASSWORD,
        "smtpHost": "127.0.0.1", "smtpPort": port, "smtpSecurity": "sometimes"}}))).await;
    assert_eq!((s, error_code(&v)), (422, "validation_error"), "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("smtpSecurity"), "{v}");
}

/// Every invocation is a tool run, including the ones refused before the tool ran: a body
/// that is not a JSON object, invalid input, a `site_id` the caller cannot see or that is not
/// the config's site. Inputs are redacted as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_invocations_are_tool_runs_too() {
    let app = spawn_app().await;
    let (site, a) = app.site_client("alpha").await;
    let (other, _) = app.site_client("beta").await;
    let runs = |query: &'static str| {
        let a = a.clone();
        async move {
            let (s, page) = call(&a, Method::GET, &format!("/v1/tool-runs?{query}"), None).await;
            assert_eq!(s, 200, "{page}");
            page["items"].as_array().unwrap().clone()
        }
    };

    // send_email: invalid input (INVALID_REQUEST), with a secret in it.
    let mut bad = body(site.id, "not-an-address");
    bad["smtp_password"] = json!("hunter2-secret");
    let (s, v) = call(&a, Method::POST, "/v1/send-email", Some(bad)).await;
    assert_eq!((s, error_code(&v)), (400, "INVALID_REQUEST"), "{v}");
    let got = runs("tool=send_email").await;
    let run = got.iter().find(|r| r["code"] == "INVALID_REQUEST").unwrap_or_else(|| panic!("no INVALID_REQUEST run: {got:?}"));
    assert_eq!((run["status"].as_str(), run["inputs"]["email"].as_str()), (Some("failure"), Some("not-an-address")), "{run}");
    assert_eq!(run["inputs"]["smtp_password"], "[redacted]", "{run}");
    assert!(!json!(got).to_string().contains("hunter2-secret"));
    // A body that is not an object: INVALID_REQUEST, recorded with `{}` as inputs.
    let r = a.raw_request(Method::POST, "/v1/tools/send_email/invoke", Some(json!([1, 2])), &[]).await.unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(runs("tool=send_email").await.iter().filter(|r| r["code"] == "INVALID_REQUEST").count(), 2);
    // Another site's id (invisible to this key): recorded in the caller's site.
    let (s, v) = call(&a, Method::POST, "/v1/send-email", Some(body(other.id, "lead@customer.test"))).await;
    assert_eq!((s, error_code(&v)), (404, "SITE_CONFIG_NOT_FOUND"), "{v}");
    let got = runs("tool=send_email").await;
    assert!(
        got.iter().any(|r| r["code"] == "SITE_CONFIG_NOT_FOUND" && r["inputs"]["site_id"] == json!(other.id.to_string())),
        "{got:?}"
    );

    // A send_email tool config given another (visible) site's id: recorded in the config's site.
    let (s, cfg) = call(&app.admin, Method::POST, "/v1/tool-configs", Some(json!({"name": "sales_mail", "tool": "send_email",
        "prompt": "Email a lead.", "site_id": site.id.to_string()}))).await;
    assert_eq!(s, 201, "{cfg}");
    let (s, v) = call(&app.admin, Method::POST, &format!("/v1/tools/sales_mail/invoke?site_id={}", site.id),
        Some(body(other.id, "lead@customer.test"))).await;
    assert_eq!((s, error_code(&v)), (404, "SITE_CONFIG_NOT_FOUND"), "{v}");
    let got = runs("tool=send_email").await;
    assert!(got.iter().any(|r| r["tool_config_id"] == cfg["id"] && r["code"] == "SITE_CONFIG_NOT_FOUND"), "{got:?}");

    // The other tools: a body that is not JSON (or not an object), and a validation error.
    for raw in ["not json", "[\"x\"]"] {
        let r = a
            .raw_request_bytes(Method::POST, "/v1/tools/send_one_to_one_email/invoke", Some(raw.as_bytes().to_vec().into()), &[("content-type", "application/json")])
            .await
            .unwrap();
        assert_eq!(r.status, 400, "{}", r.text());
    }
    let got = runs("tool=send_one_to_one_email").await;
    assert_eq!(got.iter().filter(|r| r["code"] == "invalid_json" && r["status"] == "failure").count(), 2, "{got:?}");
    let (s, v) = call(&a, Method::POST, "/v1/tools/send_information_email/invoke", Some(json!({"send_to": 5, "api_key": "k-secret"}))).await;
    assert_eq!((s, error_code(&v)), (400, "validation_error"), "{v}");
    let got = runs("tool=send_information_email").await;
    let run = got.iter().find(|r| r["code"] == "validation_error").unwrap_or_else(|| panic!("{got:?}"));
    assert_eq!(run["inputs"]["api_key"], "[redacted]", "{run}");
}
