//! The agent tools end to end through `POST /v1/tools/{name}/invoke` on the real server:
//! `send_one_to_one_email` (seed 000) and `send_information_email` (seed 001) through every
//! status and code, provider fallback to a real SMTP submission, duplicates (exact and near),
//! line removal, time zones, consent ask-then-grant, dry runs, the catalogue and the audit
//! record of every run. The server-side model path runs against a local HTTP server speaking
//! the OpenAI chat-completions protocol with scripted replies.

mod common;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use common::submission::{Security, submission_server};
use common::*;
use mailroom_client::{Client, Method};
use mailroom_core::Site;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

async fn invoke(c: &Client, tool: &str, body: Value) -> (u16, Value) {
    call(c, Method::POST, &format!("/v1/tools/{tool}/invoke"), Some(body)).await
}

async fn outbound(c: &Client, mailbox: &str) -> Vec<Value> {
    let (_, list) = call(c, Method::GET, &format!("/v1/mailboxes/{mailbox}/messages?direction=outbound"), None).await;
    list["items"].as_array().cloned().unwrap_or_default()
}

async fn raw(c: &Client, message: &str) -> String {
    c.raw_request(Method::GET, &format!("/v1/messages/{message}/raw"), None, &[]).await.unwrap().text()
}

/// A site with a sending mailbox, a team member on it and a contact they own.
struct Fixture {
    site: Site,
    a: Client,
    key: String,
    mailbox: String,
    member: String,
    contact: String,
}

async fn fixture(app: &TestApp, name: &str) -> Fixture {
    let (site, key) = app.site_key(name).await;
    let a = app.client(&key);
    let mb = mailbox(&a, "ana").await;
    let (s, m) = call(&a, Method::POST, "/v1/team-members", Some(json!({"name": "Ana Souza", "mailbox_id": mb.id,
        "signature_html": "<p>Ana Souza<br>Customer Success</p>"}))).await;
    assert_eq!(s, 201, "{m}");
    let member = m["id"].as_str().unwrap().to_string();
    let (s, c) = call(&a, Method::POST, "/v1/contacts", Some(json!({"email": "Carla@Customer.test", "name": "Carla",
        "attributes": {"company": "Acme", "plan": "trial"}, "owner_team_member_id": member}))).await;
    assert_eq!(s, 201, "{c}");
    Fixture { site, a, key, mailbox: mb.id.to_string(), member, contact: c["id"].as_str().unwrap().to_string() }
}

async fn contact(a: &Client, body: Value) -> String {
    let (s, c) = call(a, Method::POST, "/v1/contacts", Some(body)).await;
    assert!(s == 201 || s == 200, "{c}");
    c["id"].as_str().unwrap().to_string()
}

const BODY: &str = "Hi Carla,\n\nCongratulations on moving Acme from the trial to the Growth plan! During the trial your team \
    set up four workflows and invited nine colleagues, which is a great start.\n\nIf it helps, I can walk you through \
    reporting next week.\n\nBest,\nAna";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_to_one_email_walks_every_status_and_code() {
    let app = spawn_app().await;
    let f = fixture(&app, "alpha").await;
    let a = &f.a;
    let email = |send_to: &str, subject: &str, body: &str| json!({"send_to": send_to, "subject": subject, "body": body, "preview": "Your trial, in numbers"});

    // The catalogue lists the three tools with schemas usable as function definitions.
    let (s, cat) = call(a, Method::GET, "/v1/tools", None).await;
    assert_eq!(s, 200, "{cat}");
    let names: Vec<&str> = cat["data"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["send_email", "send_one_to_one_email", "send_information_email"]);
    let o2o = &cat["data"][1];
    assert_eq!(o2o["input_schema"]["required"], json!(["send_to", "subject", "body"]));
    assert_eq!(cat["openai"][1]["function"]["name"], "send_one_to_one_email");
    assert_eq!(cat["openai"][1]["function"]["strict"], true);
    assert_eq!(cat["anthropic"][1]["input_schema"], o2o["input_schema"]);

    // Invalid input: the project's error shape, naming the field; unknown tools are 404.
    let (s, v) = invoke(a, "send_one_to_one_email", json!({"send_to": f.contact, "body": "x"})).await;
    assert_eq!((s, error_code(&v)), (400, "validation_error"), "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("subject"), "{v}");
    let (s, v) = invoke(a, "send_one_to_one_email", json!({"send_to": f.contact, "subject": "S", "body": "B", "colour": "red"})).await;
    assert_eq!((s, error_code(&v)), (400, "validation_error"), "{v}");
    let (s, v) = invoke(a, "send_one_to_one_email", json!({"send_to": f.contact, "subject": "S", "body": "B", "cc": ["not-an-address"]})).await;
    assert_eq!((s, error_code(&v)), (400, "validation_error"), "{v}");
    let (s, v) = invoke(a, "send_fax", json!({})).await;
    assert_eq!((s, error_code(&v)), (404, "tool_not_found"), "{v}");

    // Unknown contact, and a contact without an address: failure with an error message.
    let (s, v) = invoke(a, "send_one_to_one_email", email("01a1fdba-0000-7000-8000-000000000000", "Hi", BODY)).await;
    assert_eq!((s, v["status"].as_str(), v["code"].as_str()), (200, Some("failure"), Some("contact_not_found")), "{v}");
    assert!(v["error_message"].is_string());
    let nameless = contact(a, json!({"external_id": "crm-77", "name": "No Address"})).await;
    let (_, v) = invoke(a, "send_one_to_one_email", email(&nameless, "Hi", BODY)).await;
    assert_eq!((v["status"].as_str(), v["code"].as_str(), v["to_id"].as_str()), (Some("failure"), Some("invalid_recipient"), Some(nameless.as_str())), "{v}");

    // Opted out: skipped / user_marketing_email_opt_out.
    let opted = contact(a, json!({"email": "optout@customer.test", "marketing_opt_out": true, "owner_team_member_id": f.member})).await;
    let (s, v) = invoke(a, "send_one_to_one_email", email(&opted, "Hi", BODY)).await;
    assert_eq!((s, v["status"].as_str(), v["code"].as_str()), (200, Some("skipped"), Some("user_marketing_email_opt_out")), "{v}");
    assert_eq!(v["from_id"].as_str(), Some(f.member.as_str()));

    // Suppressed: skipped / suppressed.
    let bounced = contact(a, json!({"email": "bounced@customer.test", "owner_team_member_id": f.member})).await;
    let (s, _) = call(a, Method::POST, "/v1/suppressions", Some(json!({"address": "bounced@customer.test", "reason": "manual"}))).await;
    assert_eq!(s, 201);
    let (_, v) = invoke(a, "send_one_to_one_email", email(&bounced, "Hi", BODY)).await;
    assert_eq!((v["status"].as_str(), v["code"].as_str()), (Some("skipped"), Some("suppressed")), "{v}");

    // A dry run: the decision and the rendered email, nothing sent.
    let mut dry = email(&f.contact, "Welcome to Growth, Carla", BODY);
    dry["dry_run"] = json!(true);
    let (s, v) = invoke(a, "send_one_to_one_email", dry).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("dry_run")), "{v}");
    assert!(v["email"]["html"].as_str().unwrap().contains("display:none"), "{v}");
    assert!(outbound(a, &f.mailbox).await.is_empty());

    // Sent from the owner's mailbox, under their name, with signature and hidden preheader.
    let (s, v) = invoke(a, "send_one_to_one_email", email(&f.contact, "Welcome to Growth, Carla", BODY)).await;
    assert_eq!((s, v["status"].as_str()), (201, Some("success")), "{v}");
    assert_eq!((v["to_id"].as_str(), v["from_id"].as_str()), (Some(f.contact.as_str()), Some(f.member.as_str())));
    let email_id = v["email_id"].as_str().unwrap().to_string();
    let opts = &v["create_email_options"];
    assert_eq!((opts["to"].as_str(), opts["subject"].as_str(), opts["preview"].as_str()), (Some("Carla@customer.test"), Some("Welcome to Growth, Carla"), Some("Your trial, in numbers")), "{v}");
    assert!(opts["from"].as_str().unwrap().contains("Ana Souza"), "{v}");
    assert_eq!(opts["body"].as_str(), Some(BODY));
    assert_eq!(v["create_email_response"]["provider"], "agent_email");
    let message = v["create_email_response"]["message_id"].as_str().unwrap().to_string();
    let sent = outbound(a, &f.mailbox).await;
    assert_eq!(sent.len(), 1);
    let text = raw(a, &message).await;
    assert!(text.contains("From: \"Ana Souza\" <ana@"), "{text}");
    let (_, m) = call(a, Method::GET, &format!("/v1/messages/{message}"), None).await;
    let html = m["html"].as_str().unwrap_or_default();
    assert!(html.contains("Customer Success") && html.contains("display:none") && html.contains("Your trial, in numbers"), "{m}");
    assert!(m["text"].as_str().unwrap_or_default().contains("four workflows"), "{m}");

    // The same email again, or one with a word changed: duplicate_email naming the first.
    let (_, v) = invoke(a, "send_one_to_one_email", email(&f.contact, "Welcome to Growth, Carla", BODY)).await;
    assert_eq!((v["status"].as_str(), v["code"].as_str(), v["duplicate_of"].as_str()), (Some("skipped"), Some("duplicate_email"), Some(email_id.as_str())), "{v}");
    let near = BODY.replace("great start", "good start");
    let (_, v) = invoke(a, "send_one_to_one_email", email(&f.contact, "Welcome to Growth, Carla", &near)).await;
    assert_eq!((v["status"].as_str(), v["code"].as_str()), (Some("skipped"), Some("duplicate_email")), "near duplicate: {v}");
    // A different email goes through.
    let other = "Hi Carla,\n\nQuick one: your quarterly business review is on the 14th. I will bring the usage report and \
        three ideas for the support team's workflows. Anything else you want on the agenda?\n\nAna";
    let (s, v) = invoke(a, "send_one_to_one_email", email(&f.contact, "Agenda for our QBR", other)).await;
    assert_eq!((s, v["status"].as_str()), (201, Some("success")), "{v}");
    assert_eq!(outbound(a, &f.mailbox).await.len(), 2);

    // Sender rules: the agent may not pick someone else under `contact_owner`.
    let mb2 = mailbox(a, "bruno").await;
    let (_, m2) = call(a, Method::POST, "/v1/team-members", Some(json!({"name": "Bruno", "mailbox_id": mb2.id}))).await;
    let bruno = m2["id"].as_str().unwrap().to_string();
    let (s, _) = call(a, Method::POST, "/v1/tool-configs", Some(json!({"name": "owner_outreach", "tool": "send_one_to_one_email",
        "prompt": "Use for outreach from the account owner.", "settings": {"sender_rule": "contact_owner", "bcc": ["crm@alpha.test"]}}))).await;
    assert_eq!(s, 201);
    let mut pick = email(&f.contact, "Renewal", "Hi Carla, your renewal is coming up next month; shall we talk about seats?");
    pick["send_from"] = json!(bruno);
    let (_, v) = invoke(a, "owner_outreach", pick.clone()).await;
    assert_eq!((v["status"].as_str(), v["code"].as_str()), (Some("failure"), Some("sender_not_allowed")), "{v}");
    // The built-in tool lets the agent choose; the config's default BCC applies to configs only.
    let (s, v) = invoke(a, "send_one_to_one_email", pick).await;
    assert_eq!((s, v["from_id"].as_str()), (201, Some(bruno.as_str())), "{v}");
    let (s, v) = invoke(a, "owner_outreach", email(&f.contact, "Seats", "Hi Carla, do you need more seats for the new support hires?")).await;
    assert_eq!((s, v["create_email_options"]["bcc"].clone()), (201, json!(["crm@alpha.test"])), "{v}");

    // The catalogue offers the config under its name, described by the builder's prompt.
    let (_, cat) = call(a, Method::GET, "/v1/tools", None).await;
    let entry = cat["data"].as_array().unwrap().iter().find(|t| t["name"] == "owner_outreach").expect("config listed").clone();
    assert_eq!((entry["tool"].as_str(), entry["description"].as_str()), (Some("send_one_to_one_email"), Some("Use for outreach from the account owner.")));

    // Every run is audited with inputs, checks, decision and outputs; filters work.
    let (_, runs) = call(a, Method::GET, &format!("/v1/tool-runs?tool=send_one_to_one_email&contact_id={}", f.contact), None).await;
    let runs = runs["items"].as_array().unwrap();
    assert!(runs.len() >= 6, "{runs:?}");
    let success = runs.iter().find(|r| r["status"] == "success" && r["message_id"] == message.as_str()).expect("the first send's run");
    assert_eq!(success["inputs"]["subject"], "Welcome to Growth, Carla");
    let checks: Vec<&str> = success["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    for want in ["contact", "sender", "marketing_consent", "not_suppressed", "not_duplicate", "send"] {
        assert!(checks.contains(&want), "{want} in {checks:?}");
    }
    assert_eq!(success["decision"]["provider"], "agent_email");
    assert!(runs.iter().any(|r| r["status"] == "skipped" && r["code"] == "duplicate_email"));
    assert!(runs.iter().any(|r| r["status"] == "dry_run" && r["dry_run"] == true));
    let (_, skipped) = call(a, Method::GET, "/v1/tool-runs?status=skipped", None).await;
    assert!(skipped["items"].as_array().unwrap().iter().all(|r| r["status"] == "skipped"));

    // Another site's key sees neither the contact nor the runs.
    let (_, b) = app.site_client("beta").await;
    let (_, v) = invoke(&b, "send_one_to_one_email", email(&f.contact, "Hi", BODY)).await;
    assert_eq!(v["code"].as_str(), Some("contact_not_found"), "{v}");
    let (_, runs) = call(&b, Method::GET, "/v1/tool-runs?tool=send_one_to_one_email&status=success", None).await;
    assert_eq!(runs["items"], json!([]));
    let _ = f.site;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_to_one_email_uses_the_smtp_route_never_falls_back_on_a_refusal_and_stops_the_run_when_told() {
    const PASSWORD: &str = "fallback-pa55";
    // At most 2 recipients per message: a send with two CCs is refused by the policy step.
    let app = spawn_app_with(|c| {
        c.limits.max_recipients = 2;
        delivering(c);
    })
    .await;
    let engine = &app.server.as_ref().unwrap().engine;
    let f = fixture(&app, "alpha").await;
    let a = &f.a;
    let (port, seen) = submission_server(Security::StartTls, "ana@alpha.test", PASSWORD).await;
    let (s, _) = call(a, Method::PUT, "/v1/settings", Some(json!({"channels": {"email": {"email": "ana@alpha.test", "enabled": true}}}))).await;
    assert_eq!(s, 200);
    let (s, _) = call(a, Method::POST, "/v1/secure-tokens", Some(json!({"site_id": f.site.id.to_string(), "token_type": "email",
        "identifier": "ana@alpha.test", "token_value": {"email": "ana@alpha.test", "password": PASSWORD, "smtpHost": "127.0.0.1",
        "smtpPort": port, "smtpSecurity": "starttls"}}))).await;
    assert_eq!(s, 201);

    // The mailbox refuses (too many recipients): a refusal, not a channel failure, so the
    // email is skipped and the SMTP account never sees it.
    let req = json!({"send_to": f.contact, "subject": "Your onboarding plan", "body": "<p>Hi Carla,</p><p>Here is the onboarding plan we discussed, with the three milestones for May.</p>",
        "cc": ["cs@alpha.test", "lead@alpha.test"]});
    let (s, v) = invoke(a, "send_one_to_one_email", req.clone()).await;
    assert_eq!((s, v["status"].as_str(), v["code"].as_str()), (200, Some("skipped"), Some("too_many_recipients")), "{v}");
    assert!(outbound(a, &f.mailbox).await.is_empty());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(seen.lock().unwrap().rcpt_to.is_empty(), "no fallback on a refusal");

    // The mailbox channel switched off: the same limit holds on the SMTP route (policy is the
    // engine's, for every channel) ...
    let (s, _) = call(a, Method::PUT, "/v1/settings", Some(json!({"channels": {"agent_email": {"status": "inactive"},
        "email": {"email": "ana@alpha.test", "enabled": true}}}))).await;
    assert_eq!(s, 200);
    let (s, v) = invoke(a, "send_one_to_one_email", req.clone()).await;
    assert_eq!((s, v["code"].as_str()), (200, Some("too_many_recipients")), "{v}");
    // ... and within it the email is queued for the SMTP account's route and submitted by the
    // delivery worker, to and CC in one transaction.
    let mut req = req;
    req["cc"] = json!(["lead@alpha.test"]);
    let (s, v) = invoke(a, "send_one_to_one_email", req).await;
    assert_eq!((s, v["status"].as_str()), (201, Some("success")), "{v}");
    assert_eq!(v["create_email_response"]["provider"], "smtp", "{v}");
    let external = v["create_email_response"]["external_message_id"].as_str().unwrap().to_string();
    let id: mailroom_core::MessageId = v["create_email_response"]["message_id"].as_str().unwrap().parse().unwrap();
    assert!(outbound(a, &f.mailbox).await.is_empty(), "nothing went out through the member's mailbox");
    wait_recipient(engine, id, "lead@alpha.test", |r| r.status == mailroom_core::DeliveryStatus::Delivered).await;
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.over_tls, vec![true]);
        assert_eq!(seen.rcpt_to.len(), 2, "to and the CC: {seen:?}");
        assert!(seen.data[0].contains(&external) && seen.data[0].contains("Ana Souza"), "{}", seen.data[0]);
    }
    // Recorded with the provider and its message id, so a sync never imports it twice.
    let rec = engine.store().find_sent_email(f.site.id, "smtp", &external).await.unwrap().expect("recorded");
    assert_eq!(rec.contact_id.map(|c| c.to_string()), Some(f.contact.clone()));
    let (_, runs) = call(a, Method::GET, "/v1/tool-runs?tool=send_one_to_one_email&status=success", None).await;
    let run = &runs["items"][0];
    assert_eq!(run["decision"]["provider"].as_str(), Some("smtp"), "{run}");
    assert!(!runs.to_string().contains(PASSWORD));

    // The SMTP account cannot be used (no credentials for its address): failure /
    // resend_error (seed 000: the sending provider failed); the run completes (default).
    let (s, _) = call(a, Method::PUT, "/v1/settings", Some(json!({"channels": {"agent_email": {"status": "inactive"},
        "email": {"email": "nobody@alpha.test", "enabled": true}}}))).await;
    assert_eq!(s, 200);
    let req = json!({"send_to": f.contact, "subject": "Checking in", "body": "Hi Carla, how is the rollout going with the support team this week?"});
    let (s, v) = invoke(a, "send_one_to_one_email", req.clone()).await;
    assert_eq!((s, v["status"].as_str(), v["code"].as_str()), (200, Some("failure"), Some("resend_error")), "{v}");
    assert!(v["error_message"].as_str().unwrap().contains("nobody@alpha.test"), "{v}");

    // With complete_on_send_failure false the invocation itself fails: 502, the run must stop.
    let (s, _) = call(a, Method::POST, "/v1/tool-configs", Some(json!({"name": "critical_followup", "tool": "send_one_to_one_email",
        "prompt": "Must reach the customer.", "settings": {"complete_on_send_failure": false}}))).await;
    assert_eq!(s, 201);
    let (s, v) = invoke(a, "critical_followup", req).await;
    assert_eq!((s, error_code(&v), v["stop_run"].as_bool()), (502, "resend_error", Some(true)), "{v}");
    assert_eq!(v["result"]["status"], "failure");
    let (_, run) = call(a, Method::GET, &format!("/v1/tool-runs/{}", v["tool_run_id"].as_str().unwrap()), None).await;
    assert_eq!((run["status"].as_str(), run["code"].as_str()), (Some("failure"), Some("resend_error")), "{run}");
    assert_eq!(run["decision"]["complete_on_send_failure"], false);

    // A refusal (a suppressed cc) never stops the run, even with complete_on_send_failure false.
    let (s, _) = call(a, Method::POST, "/v1/suppressions", Some(json!({"address": "cs@alpha.test"}))).await;
    assert_eq!(s, 201);
    let (s, v) = invoke(a, "critical_followup", json!({"send_to": f.contact, "subject": "Another", "body": "Hi Carla, one more note about May.",
        "cc": ["cs@alpha.test", "lead@alpha.test"]})).await;
    assert_eq!((s, v["status"].as_str(), v["code"].as_str()), (200, Some("skipped"), Some("suppressed")), "{v}");
}

const APPOINTMENT_BODY: &str = "<p>Hi [name],</p><p>Your appointment is confirmed for [appointment_date].</p>\
    <p>Address: [address]</p><p>See you there!</p>";

fn information_settings(mailbox: &str) -> Value {
    json!({
        "channels": {"agent_email": {"status": "active", "mailbox_id": mailbox}},
        "information_email": {
            "enabled": "True",
            "business_time_zone": "Europe/Madrid",
            "allowed_content": {
                "appointment_confirmation": {
                    "subject": "Your appointment at [business_name]",
                    "body": APPOINTMENT_BODY,
                    "variants": {"es": {"subject": "Su cita en [business_name]",
                        "body": "<p>Hola [name]:</p><p>Su cita está confirmada para el [appointment_date].</p><p>Dirección: [address]</p>"}}
                },
                "opening_hours": {"subject": "Opening hours of [business_name]", "body": "We are open [hours]."}
            }
        }
    })
}

fn analysis(template: &str, placeholders: Value) -> Value {
    json!({
        "user_email_presence": true, "user_correctness_agreement": true, "convo_agent_promise": true,
        "email_subject": "", "email_body": "", "is_duplicate": false, "information_is_allowed_to_be_sent": true,
        "agent_must_send_email": true, "template": template, "placeholders": placeholders
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn information_email_walks_consent_decision_rendering_and_audit() {
    let app = spawn_app().await;
    let f = fixture(&app, "clinic").await;
    let a = &f.a;
    let (s, v) = call(a, Method::PUT, "/v1/settings", Some(information_settings(&f.mailbox))).await;
    assert_eq!(s, 200, "{v}");

    // The schema served with the tool is generated from the allowed templates.
    let (_, cat) = call(a, Method::GET, "/v1/tools", None).await;
    let info = cat["data"].as_array().unwrap().iter().find(|t| t["name"] == "send_information_email").unwrap().clone();
    let schema = &info["input_schema"]["properties"]["analysis"]["anyOf"][0];
    assert_eq!(schema["properties"]["template"]["enum"], json!(["appointment_confirmation", "opening_hours", null]), "{schema}");
    for p in ["business_name", "name", "appointment_date", "address", "hours"] {
        assert!(schema["properties"]["placeholders"]["properties"].get(p).is_some(), "{p} in {schema}");
    }

    // Sent: placeholders filled, the unfilled address line removed, the date in Madrid time.
    let values = json!({"business_name": "Clínica Sol", "name": "Carla", "appointment_date": "2026-03-03T13:30:00Z", "address": null});
    let (s, v) = invoke(a, "send_information_email", json!({"contact_id": f.contact, "analysis": analysis("appointment_confirmation", values.clone())})).await;
    assert_eq!((s, v["status"].as_str()), (201, Some("sent")), "{v}");
    assert_eq!(v["followup_delay_seconds"], 60);
    assert_eq!(v["decision"]["send"], true);
    assert_eq!(v["analysis"]["template"], "appointment_confirmation");
    assert_eq!(v["email"]["subject"], "Your appointment at Clínica Sol");
    let body = v["email"]["body"].as_str().unwrap();
    assert!(body.contains("Tuesday, 3 March 2026, 14:30 CET"), "{body}");
    assert!(!body.contains("Address") && !body.contains('['), "{body}");
    assert!(body.contains("<p>Hi Carla,</p>") && body.contains("See you there!"), "{body}");
    assert_eq!(v["email"]["removed_lines"], json!(["<p>Address: [address]</p>"]));
    assert_eq!(v["email"]["translated"], false);
    let email_id = v["email_id"].as_str().unwrap().to_string();
    let sent = outbound(a, &f.mailbox).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["subject"], "Your appointment at Clínica Sol");

    // Recorded in the contact's history and as an information_email.sent event.
    let (_, c) = call(a, Method::GET, &format!("/v1/contacts/{}", f.contact), None).await;
    assert_eq!((c["history"][0]["id"].as_str(), c["history"][0]["template"].as_str()), (Some(email_id.as_str()), Some("appointment_confirmation")), "{c}");
    let (_, events) = call(a, Method::GET, "/v1/events?limit=200", None).await;
    let ev = events["items"].as_array().unwrap().iter().find(|e| e["type"] == "information_email.sent").expect("event").clone();
    assert_eq!((ev["data"]["email_id"].as_str(), ev["data"]["contact_id"].as_str()), (Some(email_id.as_str()), Some(f.contact.as_str())), "{ev}");
    assert!(ev["data"]["tool_run_id"].is_string());

    // The same information again: the server's duplicate check skips it, whatever the claim.
    let (s, v) = invoke(a, "send_information_email", json!({"contact_id": f.contact, "analysis": analysis("appointment_confirmation", values.clone())})).await;
    assert_eq!((s, v["status"].as_str(), v["code"].as_str()), (200, Some("skipped"), Some("duplicate_email")), "{v}");

    // Each claim can stop a send; none can force one.
    let other = contact(a, json!({"email": "dora@customer.test", "name": "Dora"})).await;
    let hours = json!({"business_name": "Clínica Sol", "hours": "9:00 to 18:00"});
    for (change, want) in [
        (json!({"convo_agent_promise": false}), "email_not_confirmed"),
        (json!({"convo_agent_promise": false, "user_correctness_agreement": true}), "no_agent_promise"),
        (json!({"template": null}), "template_not_allowed"),
        (json!({"information_is_allowed_to_be_sent": false}), "template_not_allowed"),
        (json!({"is_duplicate": true}), "duplicate_email"),
        (json!({"agent_must_send_email": false}), "agent_declined"),
    ] {
        let mut an = analysis("opening_hours", hours.clone());
        for (k, val) in change.as_object().unwrap() {
            an[k] = val.clone();
        }
        if want == "email_not_confirmed" {
            an["user_correctness_agreement"] = json!(false);
        }
        let (s, v) = invoke(a, "send_information_email", json!({"contact_id": other, "analysis": an})).await;
        assert_eq!((s, v["status"].as_str(), v["code"].as_str()), (200, Some("skipped"), Some(want)), "{change}: {v}");
    }
    // A template outside the allowed ones is refused by the schema itself.
    let mut an = analysis("refund_policy", hours.clone());
    an["template"] = json!("refund_policy");
    let (s, v) = invoke(a, "send_information_email", json!({"contact_id": other, "analysis": an})).await;
    assert_eq!((s, error_code(&v)), (400, "validation_error"), "{v}");
    let no_address = contact(a, json!({"external_id": "phone-only", "name": "Eva"})).await;
    let (_, v) = invoke(a, "send_information_email", json!({"contact_id": no_address, "analysis": analysis("opening_hours", hours.clone())})).await;
    assert_eq!((v["status"].as_str(), v["code"].as_str()), (Some("skipped"), Some("email_missing")), "{v}");

    // Consent: an opted-out contact gets the question; after a grant the email goes out.
    let opted = contact(a, json!({"email": "fede@customer.test", "name": "Fede", "email_subscribed": false})).await;
    let req = json!({"contact_id": opted, "analysis": analysis("opening_hours", hours.clone())});
    let (s, v) = invoke(a, "send_information_email", req.clone()).await;
    assert_eq!((s, v["status"].as_str(), v["code"].as_str()), (200, Some("consent_required"), Some("user_email_opt_out")), "{v}");
    assert!(v["question"].as_str().unwrap().contains("May I send you"), "{v}");
    assert_eq!(outbound(a, &f.mailbox).await.len(), 1);
    let (s, c) = call(a, Method::POST, &format!("/v1/contacts/{opted}/consent"), Some(json!({"granted": true}))).await;
    assert_eq!((s, c["email_subscribed"].as_bool()), (200, Some(true)));
    let (s, v) = invoke(a, "send_information_email", req).await;
    assert_eq!((s, v["status"].as_str()), (201, Some("sent")), "{v}");
    assert_eq!(v["email"]["body"], "We are open 9:00 to 18:00.");

    // The agent's language: the template's variant (no model needed); otherwise the original.
    let es = contact(a, json!({"email": "gala@customer.test", "name": "Gala", "attributes": {"language": "es"}})).await;
    let (s, v) = invoke(a, "send_information_email", json!({"contact_id": es, "analysis": analysis("appointment_confirmation",
        json!({"business_name": "Clínica Sol", "name": "Gala", "appointment_date": "2026-03-29T13:30:00Z", "address": "Calle Mayor 1"}))})).await;
    assert_eq!((s, v["email"]["language"].as_str(), v["email"]["translated"].as_bool()), (201, Some("es"), Some(true)), "{v}");
    assert_eq!(v["email"]["subject"], "Su cita en Clínica Sol");
    let body = v["email"]["body"].as_str().unwrap();
    assert!(body.contains("domingo, 29 de marzo de 2026, 15:30 CEST") && body.contains("Calle Mayor 1"), "{body}");
    let fr = contact(a, json!({"email": "hugo@customer.test", "name": "Hugo"})).await;
    let (s, v) = invoke(a, "send_information_email", json!({"contact_id": fr, "language": "fr", "analysis": analysis("opening_hours", hours.clone())})).await;
    assert_eq!((s, v["email"]["translated"].as_bool()), (201, Some(false)), "{v}");

    // Dry run: decision and rendering, nothing sent or recorded.
    let before = outbound(a, &f.mailbox).await.len();
    let dry = contact(a, json!({"email": "ines@customer.test"})).await;
    let (s, v) = invoke(a, "send_information_email", json!({"contact_id": dry, "dry_run": true, "analysis": analysis("opening_hours", hours.clone())})).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("dry_run")), "{v}");
    assert_eq!(v["email"]["body"], "We are open 9:00 to 18:00.");
    assert_eq!(outbound(a, &f.mailbox).await.len(), before);
    let (_, c) = call(a, Method::GET, &format!("/v1/contacts/{dry}"), None).await;
    assert_eq!(c["history"], json!([]));

    // A transcript without a configured model: 422 with what to do.
    let (s, v) = invoke(a, "send_information_email", json!({"contact_id": dry, "conversation": "user: hi"})).await;
    assert_eq!((s, error_code(&v)), (422, "llm_not_configured"), "{v}");
    let (s, v) = invoke(a, "send_information_email", json!({"contact_id": dry})).await;
    assert_eq!((s, error_code(&v)), (400, "validation_error"), "{v}");

    // Disabled (by a tool config overriding the site): skipped / disabled.
    let (s, _) = call(a, Method::POST, "/v1/tool-configs", Some(json!({"name": "hours_info", "tool": "send_information_email",
        "prompt": "Send the opening hours when the user asks for them by email.", "settings": {"enabled": false}}))).await;
    assert_eq!(s, 201);
    let (s, v) = invoke(a, "hours_info", json!({"contact_id": dry, "analysis": analysis("opening_hours", hours)})).await;
    assert_eq!((s, v["code"].as_str()), (200, Some("disabled")), "{v}");

    // The audit trail: every run with its checks and decision, filterable by contact.
    let (_, runs) = call(a, Method::GET, &format!("/v1/tool-runs?tool=send_information_email&contact_id={opted}"), None).await;
    let runs = runs["items"].as_array().unwrap();
    let statuses: Vec<&str> = runs.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["sent", "consent_required"]);
    let checks: Vec<&str> = runs[1]["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    for want in ["analysis", "not_suppressed", "not_duplicate", "enabled", "consent", "email_present", "email_confirmed", "agent_promise", "template_allowed", "agent_must_send_email"] {
        assert!(checks.contains(&want), "{want} in {checks:?}");
    }
    assert_eq!(runs[1]["decision"]["status"], "consent_required");
    assert_eq!(runs[0]["inputs"]["analysis"]["template"], "opening_hours");
}

/// What the scripted model saw.
#[derive(Default)]
struct ModelLog {
    requests: Vec<Value>,
    auth: Vec<Option<String>>,
}

/// A local server speaking OpenAI chat completions: structured-output requests get the
/// scripted analysis, other requests are translations (`[de] ` + the text), and a request
/// whose conversation says "FAIL" gets a 500.
async fn scripted_model(analysis: Value) -> (String, Arc<Mutex<ModelLog>>) {
    let log = Arc::new(Mutex::new(ModelLog::default()));
    let state = (log.clone(), analysis);
    async fn complete(State((log, analysis)): State<(Arc<Mutex<ModelLog>>, Value)>, headers: HeaderMap, Json(req): Json<Value>) -> axum::response::Response {
        use axum::response::IntoResponse;
        log.lock().unwrap().auth.push(headers.get("authorization").and_then(|h| h.to_str().ok()).map(str::to_string));
        log.lock().unwrap().requests.push(req.clone());
        let user = req["messages"][1]["content"].as_str().unwrap_or_default().to_string();
        if user.contains("FAIL") {
            return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"error": {"message": "boom"}}))).into_response();
        }
        let content = if req.get("response_format").is_some() { analysis.to_string() } else { format!("[de] {user}") };
        Json(json!({"id": "chatcmpl-1", "object": "chat.completion", "model": req["model"],
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}]})).into_response()
    }
    let app = axum::Router::new().route("/v1/chat/completions", axum::routing::post(complete)).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn information_email_analyses_the_transcript_and_translates_with_the_configured_model() {
    let scripted = analysis("appointment_confirmation",
        json!({"business_name": "Clínica Sol", "name": "Jan", "appointment_date": "2026-03-03T13:30:00Z", "address": "Calle Mayor 1", "hours": null}));
    let (url, log) = scripted_model(scripted).await;
    let app = spawn_app_with(|c| {
        c.llm.base_url = url.clone();
        c.llm.model = "test-model".into();
        c.llm.api_key = "sk-test-key".into();
    })
    .await;
    let f = fixture(&app, "clinic").await;
    let a = &f.a;
    call(a, Method::PUT, "/v1/settings", Some(information_settings(&f.mailbox))).await;
    let jan = contact(a, json!({"email": "jan@customer.test", "name": "Jan", "attributes": {"language": "de"}})).await;
    let conversation = "user: Can you email me the confirmation? My address is jan@customer.test.\n\
        agent: Of course, jan@customer.test, is that right?\nuser: Yes.\nagent: I will send it right away.";
    let (s, v) = invoke(a, "send_information_email", json!({"contact_id": jan, "conversation": conversation})).await;
    assert_eq!((s, v["status"].as_str(), v["analysis_source"].as_str()), (201, Some("sent"), Some("model")), "{v}");
    // No German variant: the model translated subject and body.
    assert_eq!((v["email"]["translated"].as_bool(), v["email"]["language"].as_str()), (Some(true), Some("de")), "{v}");
    assert!(v["email"]["subject"].as_str().unwrap().starts_with("[de] Your appointment at Clínica Sol"), "{v}");
    assert!(v["email"]["body"].as_str().unwrap().contains("Calle Mayor 1"), "{v}");

    {
        let log = log.lock().unwrap();
        assert_eq!(log.requests.len(), 3, "analysis, subject, body");
        let analysis_req = &log.requests[0];
        assert_eq!(analysis_req["model"], "test-model");
        let schema = &analysis_req["response_format"]["json_schema"];
        assert_eq!((schema["name"].as_str(), schema["strict"].as_bool()), (Some("send_information_email_analysis"), Some(true)));
        assert_eq!(schema["schema"]["properties"]["template"]["enum"], json!(["appointment_confirmation", "opening_hours", null]));
        assert_eq!(analysis_req["messages"][1]["content"].as_str(), Some(conversation));
        assert!(analysis_req["messages"][0]["content"].as_str().unwrap().contains("appointment_confirmation"));
        assert!(log.auth.iter().all(|h| h.as_deref() == Some("Bearer sk-test-key")));
    }

    // The model's claims are still checked: the same email again is a duplicate.
    let (s, v) = invoke(a, "send_information_email", json!({"contact_id": jan, "conversation": conversation})).await;
    assert_eq!((s, v["code"].as_str()), (200, Some("duplicate_email")), "{v}");

    // A failing model: 502 with the model's error code, nothing sent, the run recorded.
    let (s, v) = invoke(a, "send_information_email", json!({"contact_id": jan, "conversation": "user: FAIL"})).await;
    assert_eq!((s, error_code(&v)), (502, "llm_http_error"), "{v}");
    let (_, runs) = call(a, Method::GET, "/v1/tool-runs?tool=send_information_email", None).await;
    assert_eq!(runs["items"][0]["code"], "llm_http_error");
    assert!(!runs.to_string().contains("sk-test-key"));
    assert_eq!(outbound(a, &f.mailbox).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_recipient_rate_limit_holds_for_every_tool() {
    let app = spawn_app().await;
    let f = fixture(&app, "alpha").await;
    let a = &f.a;
    let settings = json!({"channels": {"agent_email": {"status": "active", "mailbox_id": f.mailbox}},
        "tools": {"rate_limit": {"per_recipient_per_day": 2}}});
    assert_eq!(call(a, Method::PUT, "/v1/settings", Some(settings)).await.0, 200);
    let topics = ["the onboarding checklist for your support team", "pricing for the additional seats you asked about", "the security review questionnaire"];
    for (i, topic) in topics.iter().enumerate() {
        let body = format!("Hi Carla, as promised here is {topic}. Let me know if anything is unclear.");
        let (s, v) = invoke(a, "send_one_to_one_email", json!({"send_to": f.contact, "subject": format!("About {topic}"), "body": body})).await;
        if i < 2 {
            assert_eq!((s, v["status"].as_str()), (201, Some("success")), "{v}");
        } else {
            assert_eq!((s, v["status"].as_str(), v["code"].as_str()), (200, Some("skipped"), Some("rate_limited")), "{v}");
        }
    }
    // send_email counts the same recipient's emails.
    let (s, v) = call(a, Method::POST, "/v1/send-email", Some(json!({"email": "carla@customer.test", "subject": "Invoice",
        "message": "Your invoice for March is attached to your account page.", "site_id": f.site.id.to_string()}))).await;
    assert_eq!((s, v["code"].as_str()), (200, Some("rate_limited")), "{v}");
    // Another recipient is not limited.
    let (s, v) = call(a, Method::POST, "/v1/send-email", Some(json!({"email": "dora@customer.test", "subject": "Invoice",
        "message": "Your invoice for March is attached to your account page.", "site_id": f.site.id.to_string()}))).await;
    assert_eq!((s, v["status"].as_str()), (201, Some("sent")), "{v}");
}

/// Fires `n` identical one-to-one emails at once, spread over `clients`; returns the statuses.
async fn race(clients: &[Client], contact: &str, n: usize) -> Vec<(u16, String, String)> {
    let body = json!({"send_to": contact, "subject": "Your renewal", "body": "Hi Carla, your renewal is due on the 30th. Shall we go through the seat count together next week?"});
    let calls = (0..n).map(|i| {
        let c = clients[i % clients.len()].clone();
        let body = body.clone();
        tokio::spawn(async move {
            let (s, v) = invoke(&c, "send_one_to_one_email", body).await;
            (s, v["status"].as_str().unwrap_or_default().to_string(), v["code"].as_str().unwrap_or_default().to_string())
        })
    });
    futures::future::join_all(calls).await.into_iter().map(Result::unwrap).collect()
}

fn exactly_one_sent(results: &[(u16, String, String)]) {
    let sent = results.iter().filter(|r| r.1 == "success").count();
    let dup = results.iter().filter(|r| r.1 == "skipped" && r.2 == "duplicate_email").count();
    assert_eq!((sent, dup), (1, results.len() - 1), "{results:?}");
}

/// Concurrent invocations of the same email: exactly one is sent, on one node or across two
/// nodes sharing PostgreSQL — the send is recorded before it goes out and checked against what
/// was recorded before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_duplicates_send_exactly_once_on_one_node_and_across_nodes() {
    let app = spawn_app().await;
    let f = fixture(&app, "alpha").await;
    exactly_one_sent(&race(std::slice::from_ref(&f.a), &f.contact, 12).await);

    common::pg::with_database("the cross-node duplicate race", |url| async move {
        let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let mut config = test_config(dir_a.path().to_path_buf());
        config.database_url = url.clone();
        let node_a = start(config).await;
        let f = fixture(&node_a, "alpha").await;
        let mut config = test_config(dir_b.path().to_path_buf());
        config.database_url = url;
        config.admin_api_key = Some(node_a.admin_key.clone());
        let node_b = start(config).await;
        let on_b = node_b.client(&f.key);
        exactly_one_sent(&race(&[f.a.clone(), on_b], &f.contact, 12).await);
        node_a.server.unwrap().shutdown().await;
        node_b.server.unwrap().shutdown().await;
    })
    .await;
}
