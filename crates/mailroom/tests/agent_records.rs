//! The REST records behind the agent email tools: contacts (upsert, consent, history), team
//! members, secure tokens (never echoed), settings, tool configs and tool runs, each isolated
//! per site.

mod common;

use common::*;
use mailroom_client::Method;
use mailroom_core::agent::{SentEmail, ToolRun};
use mailroom_core::{ContactId, SentEmailId, SiteId, ToolRunId};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_upsert_consent_history_and_validation() {
    let app = spawn_app().await;
    let (_site, a) = app.site_client("alpha").await;

    let (s, c1) = call(&a, Method::POST, "/v1/contacts", Some(json!({"email": "Ada@Example.test", "name": "Ada", "attributes": {"plan": "pro", "lang": "en"}}))).await;
    assert_eq!(s, 201, "{c1}");
    let id = c1["id"].as_str().unwrap().to_string();
    assert_eq!(c1["email_subscribed"], Value::Null);

    // The same email in another case updates the same contact; attributes are merged.
    let (s, c2) = call(&a, Method::POST, "/v1/contacts", Some(json!({"email": "ada@EXAMPLE.test", "external_id": "crm-1", "attributes": {"plan": "team", "lang": null}}))).await;
    assert_eq!(s, 200, "{c2}");
    assert_eq!(c2["id"], id.as_str());
    assert_eq!(c2["attributes"], json!({"plan": "team"}));
    assert_eq!((c2["name"].as_str(), c2["external_id"].as_str()), (Some("Ada"), Some("crm-1")));

    // By external id alone.
    let (s, c3) = call(&a, Method::POST, "/v1/contacts", Some(json!({"external_id": "crm-1", "marketing_opt_out": true}))).await;
    assert_eq!((s, c3["id"].as_str()), (200, Some(id.as_str())));
    assert_eq!(c3["marketing_opt_out"], true);
    let (s, other) = call(&a, Method::POST, "/v1/contacts", Some(json!({"external_id": "crm-2"}))).await;
    assert_eq!(s, 201, "{other}");
    let other_id = other["id"].as_str().unwrap().to_string();

    // Consent (seed 001's grant) sets email_subscribed.
    let (s, c4) = call(&a, Method::POST, &format!("/v1/contacts/{id}/consent"), Some(json!({"granted": true}))).await;
    assert_eq!((s, &c4["email_subscribed"]), (200, &json!(true)));
    let (s, c5) = call(&a, Method::GET, &format!("/v1/contacts/{id}"), None).await;
    assert_eq!(s, 200);
    assert_eq!(c5["email_subscribed"], true);
    assert_eq!(c5["history"], json!([]));
    // The latest spelling given is kept.
    assert_eq!(c5["email"].as_str().map(str::to_ascii_lowercase).as_deref(), Some("ada@example.test"));

    // History lists what the tools sent.
    let engine = &app.server.as_ref().unwrap().engine;
    let contact_id: ContactId = id.parse().unwrap();
    let site_id: SiteId = c5["site_id"].as_str().unwrap().parse().unwrap();
    let sent = SentEmail {
        id: SentEmailId::new(),
        site_id,
        recipient: "ada@example.test".into(),
        contact_id: Some(contact_id),
        tool: "send_email".into(),
        provider: "agent_email".into(),
        external_message_id: "<m1@x.test>".into(),
        message_id: None,
        subject: "Welcome".into(),
        content_hash: "00".into(),
        simhash: "0".into(),
        template: None,
        context: json!({}),
        created_at: chrono::Utc::now(),
    };
    engine.store().insert_sent_email(&sent).await.unwrap();
    let (_, c6) = call(&a, Method::GET, &format!("/v1/contacts/{id}"), None).await;
    assert_eq!(c6["history"][0]["subject"], "Welcome");

    // PATCH, and the conflicts it can hit.
    let (s, p) = call(&a, Method::PATCH, &format!("/v1/contacts/{id}"), Some(json!({"name": "Ada L.", "email_subscribed": null}))).await;
    assert_eq!((s, p["name"].as_str(), &p["email_subscribed"]), (200, Some("Ada L."), &Value::Null));
    let (s, e) = call(&a, Method::PATCH, &format!("/v1/contacts/{other_id}"), Some(json!({"external_id": "crm-1"}))).await;
    assert_eq!((s, error_code(&e)), (409, "contact_external_id_taken"), "{e}");
    let (s, e) = call(&a, Method::PATCH, &format!("/v1/contacts/{other_id}"), Some(json!({"email": "ADA@example.test"}))).await;
    assert_eq!((s, error_code(&e)), (409, "contact_email_taken"), "{e}");

    // Seed 001 writes the consent flag as a string: "true" / "false" work like booleans.
    for (given, want) in [(json!("true"), json!(true)), (json!("false"), json!(false)), (json!(true), json!(true))] {
        let (s, p) = call(&a, Method::PATCH, &format!("/v1/contacts/{other_id}"), Some(json!({"email_subscribed": given}))).await;
        assert_eq!((s, &p["email_subscribed"]), (200, &want), "{given}: {p}");
    }
    for (given, want) in [(json!("false"), json!(false)), (json!("TRUE"), json!(true))] {
        let (s, c) = call(&a, Method::POST, "/v1/contacts", Some(json!({"external_id": "crm-2", "email_subscribed": given}))).await;
        assert_eq!((s, c["id"].as_str(), &c["email_subscribed"]), (200, Some(other_id.as_str()), &want), "{given}: {c}");
    }

    // Validation.
    for (body, status, want) in [
        (json!({"name": "nobody"}), 422, "missing_contact_identifier"),
        (json!({"email": "not an address"}), 422, "invalid_email_address"),
        (json!({"email": "x@y.test", "owner_team_member_id": "0190f5a0-0000-7000-8000-000000000001"}), 422, "invalid_owner"),
        (json!({"email": "x@y.test", "colour": "red"}), 400, "unknown_field"),
        (json!({"email": "x@y.test", "email_subscribed": "yes"}), 422, "invalid_request"),
    ] {
        let (s, e) = call(&a, Method::POST, "/v1/contacts", Some(body.clone())).await;
        assert_eq!((s, error_code(&e)), (status, want), "{body}: {e}");
    }
    let (s, e) = call(&a, Method::POST, &format!("/v1/contacts/{id}/consent"), Some(json!({}))).await;
    assert_eq!((s, error_code(&e)), (422, "invalid_request"));

    // Listing, newest first, with a cursor.
    let (s, page) = call(&a, Method::GET, "/v1/contacts?limit=1", None).await;
    assert_eq!(s, 200);
    assert_eq!(page["items"][0]["id"], other_id.as_str());
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, page2) = call(&a, Method::GET, &format!("/v1/contacts?limit=1&cursor={cursor}"), None).await;
    assert_eq!(page2["items"][0]["id"], id.as_str());

    // Another site sees none of it.
    let (_, b) = app.site_client("beta").await;
    for (m, path, body) in [
        (Method::GET, format!("/v1/contacts/{id}"), None),
        (Method::PATCH, format!("/v1/contacts/{id}"), Some(json!({"name": "x"}))),
        (Method::DELETE, format!("/v1/contacts/{id}"), None),
        (Method::POST, format!("/v1/contacts/{id}/consent"), Some(json!({"granted": false}))),
    ] {
        let (s, e) = call(&b, m.clone(), &path, body).await;
        assert_eq!((s, error_code(&e)), (404, "not_found"), "{m} {path}");
    }
    let (_, listed) = call(&b, Method::GET, "/v1/contacts", None).await;
    assert_eq!(listed["items"], json!([]));
    // The same email in the other site is a new contact.
    let (s, _) = call(&b, Method::POST, "/v1/contacts", Some(json!({"email": "ada@example.test"}))).await;
    assert_eq!(s, 201);

    let (s, _) = call(&a, Method::DELETE, &format!("/v1/contacts/{id}"), None).await;
    assert_eq!(s, 204);
    let (s, _) = call(&a, Method::GET, &format!("/v1/contacts/{id}"), None).await;
    assert_eq!(s, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn team_members_belong_to_their_mailbox_site() {
    let app = spawn_app().await;
    let (_site, a) = app.site_client("alpha").await;
    let (_, b) = app.site_client("beta").await;
    let mb = mailbox(&a, "sales").await;
    let mb_b = mailbox(&b, "support").await;

    let (s, m) = call(&a, Method::POST, "/v1/team-members", Some(json!({"name": "Grace", "mailbox_id": mb.id, "signature_html": "<p>Grace</p>"}))).await;
    assert_eq!(s, 201, "{m}");
    let id = m["id"].as_str().unwrap().to_string();
    assert_eq!(m["mailbox_id"], mb.id.to_string());

    // A contact owned by the member; the owner must be of the same site.
    let (s, c) = call(&a, Method::POST, "/v1/contacts", Some(json!({"email": "lead@x.test", "owner_team_member_id": id}))).await;
    assert_eq!((s, c["owner_team_member_id"].as_str()), (201, Some(id.as_str())));
    let (s, e) = call(&b, Method::POST, "/v1/contacts", Some(json!({"email": "lead@x.test", "owner_team_member_id": id}))).await;
    assert_eq!((s, error_code(&e)), (422, "invalid_owner"));

    // Another site's mailbox is unknown; a huge signature is refused.
    let (s, e) = call(&a, Method::POST, "/v1/team-members", Some(json!({"name": "Eve", "mailbox_id": mb_b.id}))).await;
    assert_eq!((s, error_code(&e)), (404, "not_found"));
    let big = "x".repeat(21 * 1024);
    let (s, e) = call(&a, Method::POST, "/v1/team-members", Some(json!({"name": "Big", "mailbox_id": mb.id, "signature_html": big}))).await;
    assert_eq!((s, error_code(&e)), (422, "signature_too_large"));
    let (s, e) = call(&a, Method::POST, "/v1/team-members", Some(json!({"name": " ", "mailbox_id": mb.id}))).await;
    assert_eq!((s, error_code(&e)), (422, "validation_error"));

    let (s, u) = call(&a, Method::PATCH, &format!("/v1/team-members/{id}"), Some(json!({"name": "Grace H.", "signature_html": null}))).await;
    assert_eq!((s, u["name"].as_str(), &u["signature_html"]), (200, Some("Grace H."), &Value::Null));
    let (s, e) = call(&a, Method::PATCH, &format!("/v1/team-members/{id}"), Some(json!({"mailbox_id": mb_b.id}))).await;
    assert_eq!((s, error_code(&e)), (404, "not_found"));
    let (_, listed) = call(&a, Method::GET, "/v1/team-members", None).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);

    // A mailbox a member sends from is not deleted.
    let r = a.raw_request(Method::DELETE, &format!("/v1/mailboxes/{}", mb.id), None, &[]).await.unwrap();
    assert_eq!(r.status, 409, "{}", r.text());

    for (m, path, body) in [
        (Method::GET, format!("/v1/team-members/{id}"), None),
        (Method::PATCH, format!("/v1/team-members/{id}"), Some(json!({"name": "x"}))),
        (Method::DELETE, format!("/v1/team-members/{id}"), None),
    ] {
        let (s, e) = call(&b, m.clone(), &path, body).await;
        assert_eq!((s, error_code(&e)), (404, "not_found"), "{m} {path}");
    }
    let (_, listed) = call(&b, Method::GET, "/v1/team-members", None).await;
    assert_eq!(listed["items"], json!([]));

    let (s, _) = call(&a, Method::DELETE, &format!("/v1/team-members/{id}"), None).await;
    assert_eq!(s, 204);
    let (_, c) = call(&a, Method::GET, &format!("/v1/contacts/{}", c["id"].as_str().unwrap()), None).await;
    assert_eq!(c["owner_team_member_id"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secure_tokens_are_sealed_and_never_echoed() {
    const PASSWORD: &str = "pa55-w0rd-never-shown";
    let app = spawn_app().await;
    let (site, a) = app.site_client("alpha").await;
    let (site_b, b) = app.site_client("beta").await;
    let value = json!({"email": "ops@alpha.test", "password": PASSWORD, "smtpHost": "smtp.alpha.test", "smtpPort": 587,
        "imapHost": "imap.alpha.test", "imapPort": 993});
    let body = json!({"site_id": site.id, "token_type": "email", "identifier": "ops@alpha.test", "token_value": value});

    let mut bodies = Vec::new();
    let r = a.raw_request(Method::POST, "/v1/secure-tokens", Some(body.clone()), &[]).await.unwrap();
    assert_eq!(r.status, 201, "{}", r.text());
    bodies.push(r.text());
    let t: Value = r.json().unwrap();
    let id = t["id"].as_str().unwrap().to_string();
    let mut keys: Vec<_> = t.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["created_at", "id", "identifier", "site_id", "token_type", "updated_at"]);

    // The same type and identifier replace the value and keep the id.
    let r = a.raw_request(Method::POST, "/v1/secure-tokens", Some(body.clone()), &[]).await.unwrap();
    assert_eq!(r.status, 201);
    bodies.push(r.text());
    assert_eq!(r.json::<Value>().unwrap()["id"], id.as_str());

    // It is sealed at rest and opens to the value given.
    let engine = &app.server.as_ref().unwrap().engine;
    let stored = engine.store().get_secure_token(site.id, "email", "ops@alpha.test").await.unwrap().unwrap();
    assert!(!String::from_utf8_lossy(&stored.value_encrypted).contains(PASSWORD));
    let opened: Value = serde_json::from_slice(&engine.secrets().open(&stored.value_encrypted).unwrap()).unwrap();
    assert_eq!(opened, value);

    let r = a.raw_request(Method::GET, "/v1/secure-tokens", None, &[]).await.unwrap();
    assert_eq!(r.status, 200);
    bodies.push(r.text());
    assert_eq!(r.json::<Value>().unwrap()["items"][0]["id"], id.as_str());
    let r = app.admin.raw_request(Method::GET, &format!("/v1/secure-tokens?site_id={}", site.id), None, &[]).await.unwrap();
    bodies.push(r.text());
    assert_eq!(r.json::<Value>().unwrap()["items"].as_array().unwrap().len(), 1);

    // Another site: cannot store into this site, sees nothing, cannot delete.
    let r = b.raw_request(Method::POST, "/v1/secure-tokens", Some(body.clone()), &[]).await.unwrap();
    bodies.push(r.text());
    assert_eq!(r.status, 404);
    let r = b.raw_request(Method::GET, "/v1/secure-tokens", None, &[]).await.unwrap();
    bodies.push(r.text());
    assert_eq!(r.json::<Value>().unwrap()["items"], json!([]));
    let r = b.raw_request(Method::DELETE, &format!("/v1/secure-tokens/{id}"), None, &[]).await.unwrap();
    bodies.push(r.text());
    assert_eq!(r.status, 404);
    let r = b.raw_request(Method::GET, &format!("/v1/secure-tokens?site_id={}", site.id), None, &[]).await.unwrap();
    assert_eq!(r.status, 404);
    let _ = site_b;

    // Validation answers do not echo the value either.
    let mut bad = body.clone();
    bad["token_type"] = json!("");
    let r = a.raw_request(Method::POST, "/v1/secure-tokens", Some(bad), &[]).await.unwrap();
    assert_eq!(r.status, 422);
    bodies.push(r.text());
    let mut bad = body.clone();
    bad["extra"] = json!(PASSWORD);
    let r = a.raw_request(Method::POST, "/v1/secure-tokens", Some(bad), &[]).await.unwrap();
    assert_eq!(r.status, 400);
    bodies.push(r.text());

    for text in &bodies {
        assert!(!text.contains(PASSWORD), "the secret leaked: {text}");
    }

    let r = a.raw_request(Method::DELETE, &format!("/v1/secure-tokens/{id}"), None, &[]).await.unwrap();
    assert_eq!(r.status, 204);
    let r = a.raw_request(Method::DELETE, &format!("/v1/secure-tokens/{id}"), None, &[]).await.unwrap();
    assert_eq!(r.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_round_trip_per_site() {
    let app = spawn_app().await;
    let (site, a) = app.site_client("alpha").await;
    let (_, b) = app.site_client("beta").await;
    let (s, empty) = call(&a, Method::GET, "/v1/settings", None).await;
    assert_eq!((s, empty), (200, json!({})));
    let doc = json!({
        "channels": {
            "agent_email": {"status": "active", "username": "hello", "domain": "alpha.test"},
            "email": {"email": "ops@alpha.test", "enabled": false, "incomingServer": "imap.alpha.test", "outgoingServer": "smtp.alpha.test",
                "incomingPort": 993, "outgoingPort": 587, "provider": "custom"}
        },
        "information_email": {"enabled": true, "business_time_zone": "Europe/Paris",
            "allowed_content": {"product_updates": {"subject": "What's new at [company]", "body": "<p>Hi [name],</p><p>[update]</p>"}}}
    });
    let (s, put) = call(&a, Method::PUT, "/v1/settings", Some(doc.clone())).await;
    assert_eq!((s, &put), (200, &doc));
    let (_, got) = call(&a, Method::GET, "/v1/settings", None).await;
    assert_eq!(got, doc);
    let (_, admin_got) = call(&app.admin, Method::GET, &format!("/v1/settings?site_id={}", site.id), None).await;
    assert_eq!(admin_got, doc);

    // Another site has its own (empty) document and cannot reach this one.
    let (_, other) = call(&b, Method::GET, "/v1/settings", None).await;
    assert_eq!(other, json!({}));
    let (s, e) = call(&b, Method::GET, &format!("/v1/settings?site_id={}", site.id), None).await;
    assert_eq!((s, error_code(&e)), (404, "not_found"));
    let (s, _) = call(&b, Method::PUT, &format!("/v1/settings?site_id={}", site.id), Some(json!({}))).await;
    assert_eq!(s, 404);

    for (body, want) in [
        (json!([1]), "invalid_settings"),
        (json!({"channels": {"agent_email": {"status": "paused"}}}), "invalid_settings"),
        (json!({"information_email": {"business_time_zone": "Nowhere/Land"}}), "invalid_time_zone"),
        (json!({"information_email": {"allowed_content": ["product_updates"]}}), "invalid_settings"),
        (json!({"information_email": {"enabled": "sometimes"}}), "invalid_settings"),
        (json!({"tools": {"near_duplicate_max_distance": 64}}), "invalid_settings"),
    ] {
        let (s, e) = call(&a, Method::PUT, "/v1/settings", Some(body.clone())).await;
        assert_eq!((s, error_code(&e)), (422, want), "{body}");
    }
    // Unknown keys are refused like in every other body, naming their path (issue 19).
    let (s, e) = call(&a, Method::PUT, "/v1/settings", Some(json!({"channels": {"agent_emial": {"status": "active"}}}))).await;
    assert_eq!((s, error_code(&e)), (400, "unknown_field"), "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("`channels.agent_emial`"), "{e}");
    let (_, still) = call(&a, Method::GET, "/v1/settings", None).await;
    assert_eq!(still, doc);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_configs_and_tool_runs() {
    let app = spawn_app().await;
    let (site, a) = app.site_client("alpha").await;
    let (_, b) = app.site_client("beta").await;
    let body = json!({"name": "welcome_followup", "tool": "send_one_to_one_email", "prompt": "Follow up a day after signup.", "settings": {"complete_on_send_failure": true}});
    let (s, c) = call(&a, Method::POST, "/v1/tool-configs", Some(body.clone())).await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_str().unwrap().to_string();
    let (s, e) = call(&a, Method::POST, "/v1/tool-configs", Some(body.clone())).await;
    assert_eq!((s, error_code(&e)), (409, "tool_config_name_taken"));
    // Names are per site.
    let (s, _) = call(&b, Method::POST, "/v1/tool-configs", Some(body.clone())).await;
    assert_eq!(s, 201);

    for (patch, want) in [
        (json!({"name": "Welcome"}), "invalid_tool_config_name"),
        (json!({"tool": "send_fax"}), "invalid_tool"),
        (json!({"prompt": ""}), "invalid_prompt"),
        (json!({"prompt": "x".repeat(10_001)}), "invalid_prompt"),
        (json!({"settings": [1]}), "validation_error"),
        (json!({"name": "send_email"}), "invalid_tool_config_name"),
        (json!({"settings": {"sender_rule": "fixed"}}), "invalid_settings"),
        (json!({"settings": {"cc": ["not an address"]}}), "invalid_settings"),
        (json!({"tool": "send_email", "settings": {"cc": []}}), "invalid_settings"),
        (json!({"tool": "send_information_email", "settings": {"business_time_zone": "Nowhere"}}), "invalid_settings"),
    ] {
        let mut req = body.clone();
        req["name"] = json!("other_tool");
        for (k, v) in patch.as_object().unwrap() {
            req[k] = v.clone();
        }
        let (s, e) = call(&a, Method::POST, "/v1/tool-configs", Some(req)).await;
        assert_eq!((s, error_code(&e)), (422, want), "{patch}");
    }

    let (s, _) = call(&a, Method::POST, "/v1/tool-configs", Some(json!({"name": "second", "tool": "send_information_email", "prompt": "p"}))).await;
    assert_eq!(s, 201);
    let (s, e) = call(&a, Method::PATCH, &format!("/v1/tool-configs/{id}"), Some(json!({"name": "second"}))).await;
    assert_eq!((s, error_code(&e)), (409, "tool_config_name_taken"));
    let (s, u) = call(&a, Method::PATCH, &format!("/v1/tool-configs/{id}"), Some(json!({"prompt": "Better prompt"}))).await;
    assert_eq!((s, u["prompt"].as_str()), (200, Some("Better prompt")));
    let (s, e) = call(&a, Method::PATCH, &format!("/v1/tool-configs/{id}"), Some(json!({"tool": "send_email"}))).await;
    assert_eq!((s, error_code(&e)), (400, "unknown_field"));
    let (_, listed) = call(&a, Method::GET, "/v1/tool-configs", None).await;
    let names: Vec<_> = listed["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(names, ["second", "welcome_followup"]);

    for (m, path, body) in [
        (Method::GET, format!("/v1/tool-configs/{id}"), None),
        (Method::PATCH, format!("/v1/tool-configs/{id}"), Some(json!({"prompt": "x"}))),
        (Method::DELETE, format!("/v1/tool-configs/{id}"), None),
    ] {
        let (s, e) = call(&b, m.clone(), &path, body).await;
        assert_eq!((s, error_code(&e)), (404, "not_found"), "{m} {path}");
    }

    // Tool runs, recorded below the API (the tools come later).
    let engine = &app.server.as_ref().unwrap().engine;
    let mut run_ids = Vec::new();
    for (status, tool) in [("sent", "send_email"), ("skipped", "send_email"), ("sent", "send_information_email")] {
        let run = ToolRun {
            id: ToolRunId::new(),
            site_id: site.id,
            tool: tool.into(),
            tool_config_id: Some(id.parse().unwrap()),
            contact_id: None,
            status: status.into(),
            code: None,
            dry_run: false,
            inputs: json!({}),
            checks: json!([]),
            decision: json!({}),
            outputs: json!({}),
            message_id: None,
            created_at: chrono::Utc::now(),
            delivery: None,
        };
        engine.store().insert_tool_run(&run, &[]).await.unwrap();
        run_ids.push(run.id.to_string());
    }
    let (s, page) = call(&a, Method::GET, "/v1/tool-runs", None).await;
    assert_eq!(s, 200);
    let got: Vec<_> = page["items"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(got, run_ids.iter().rev().cloned().collect::<Vec<_>>());
    let (_, page) = call(&a, Method::GET, "/v1/tool-runs?tool=send_email&status=sent", None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let (_, page) = call(&a, Method::GET, "/v1/tool-runs?limit=2", None).await;
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let (_, page) = call(&a, Method::GET, &format!("/v1/tool-runs?limit=2&cursor={cursor}"), None).await;
    assert_eq!(page["items"][0]["id"], run_ids[0].as_str());
    let (s, e) = call(&a, Method::GET, "/v1/tool-runs?since=yesterday", None).await;
    assert_eq!((s, error_code(&e)), (400, "invalid_query"));
    let (s, run) = call(&a, Method::GET, &format!("/v1/tool-runs/{}", run_ids[0]), None).await;
    assert_eq!((s, run["status"].as_str()), (200, Some("sent")));

    let (s, e) = call(&b, Method::GET, &format!("/v1/tool-runs/{}", run_ids[0]), None).await;
    assert_eq!((s, error_code(&e)), (404, "not_found"));
    let (_, page) = call(&b, Method::GET, "/v1/tool-runs", None).await;
    assert_eq!(page["items"], json!([]));

    let (s, _) = call(&a, Method::DELETE, &format!("/v1/tool-configs/{id}"), None).await;
    assert_eq!(s, 204);
    let (s, run) = call(&a, Method::GET, &format!("/v1/tool-runs/{}", run_ids[0]), None).await;
    assert_eq!((s, &run["tool_config_id"]), (200, &Value::Null));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_new_routes_are_documented() {
    let app = spawn_app().await;
    let r = app.admin.raw_request(Method::GET, "/v1/openapi.json", None, &[]).await.unwrap();
    let doc: Value = r.json().unwrap();
    for path in ["/v1/contacts", "/v1/contacts/{id}/consent", "/v1/team-members/{id}", "/v1/secure-tokens", "/v1/settings", "/v1/tool-configs/{id}", "/v1/tool-runs", "/v1/tools", "/v1/tools/{name}/invoke", "/v1/send-email"] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing from the OpenAPI document");
    }
    // A tool run's delivery outcome is documented with its recipients.
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["ToolRun"]["properties"].get("delivery").is_some(), "{}", schemas["ToolRun"]);
    for field in ["status", "recipients"] {
        assert!(schemas["ToolRunDelivery"]["properties"].get(field).is_some(), "{}", schemas["ToolRunDelivery"]);
    }
    for field in ["address", "kind", "status", "last_reply"] {
        assert!(schemas["ToolRunRecipient"]["properties"].get(field).is_some(), "{}", schemas["ToolRunRecipient"]);
    }
}
