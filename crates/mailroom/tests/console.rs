//! The web console in a real browser: Debian's Chromium driven through chromedriver
//! (WebDriver, fantoccini) against the real server on port 0, with mail arriving over real
//! SMTP. Without chromedriver the browser part prints `SKIPPED: …` and passes, except under
//! `CI=true`, where it fails. The HTTP-level checks (tenant isolation, CSRF) always run.
//!
//! Screenshots of the inbox, a thread, a tool run and the queue are written to
//! `docs/screenshots/` when `MAILROOM_UPDATE_SCREENSHOTS=1`, else to a temporary directory.

mod common;

use common::smtp::smtp_send;
use common::*;
use fantoccini::{Client as Browser, ClientBuilder, Locator};
use mailroom_client::Method;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// One browser test at a time: the live-update and first-paint timings are not measured
/// against each other's load.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The whole browser story must finish within this.
const BUDGET: Duration = Duration::from_secs(150);

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A listener standing in for the outside world: it counts every connection made to it.
struct Canary {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
}

async fn canary() -> Canary {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut sock, _)) = listener.accept().await {
            h.fetch_add(1, Ordering::SeqCst);
            let _ = sock
                .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                .await;
        }
    });
    Canary { addr, hits }
}

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: std::process::Child,
    url: String,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver leads its own process group; ending the group also ends the Chromium
        // it started, even when a failed assertion skipped closing the session.
        common::process::kill_process_group(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_driver() -> Option<Driver> {
    let path = std::env::var("MAILROOM_CHROMEDRIVER").unwrap_or_else(|_| CHROMEDRIVER.into());
    if !std::path::Path::new(&path).exists() || !std::path::Path::new(CHROMIUM).exists() {
        if in_ci() {
            panic!(
                "CI=true but {path} or {CHROMIUM} is missing: install Debian's chromium and chromium-driver (.ci/run does)"
            );
        }
        println!(
            "SKIPPED: browser tests need {path} and {CHROMIUM} (apt-get install chromium chromium-driver)"
        );
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    use std::os::unix::process::CommandExt;
    let child = std::process::Command::new(&path)
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let url = format!("http://127.0.0.1:{port}");
    let driver = Driver {
        child,
        url,
        _profile: tempfile::tempdir().unwrap(),
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not listen within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Some(driver)
}

async fn browser(driver: &Driver) -> Browser {
    let profile = driver._profile.path().display().to_string();
    let caps = json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", format!("--user-data-dir={profile}"), "--window-size=1280,900"]
        }
    });
    let caps: serde_json::Map<String, Value> = caps.as_object().unwrap().clone();
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a WebDriver session in Chromium")
}

fn shots_dir() -> std::path::PathBuf {
    if std::env::var("MAILROOM_UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots")
    } else {
        std::env::temp_dir().join(format!("mailroom-screenshots-{}", std::process::id()))
    }
}

async fn shot(b: &Browser, name: &str) {
    let png = b.screenshot().await.expect("screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 5_000,
        "{name}: not a real screenshot"
    );
    let dir = shots_dir();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

async fn js(b: &Browser, script: &str) -> Value {
    b.execute(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("script `{script}` failed: {e}"))
}

/// Waits (at most `within`) until `script` returns true.
async fn until(b: &Browser, script: &str, within: Duration, what: &str) -> Duration {
    let start = Instant::now();
    loop {
        if js(b, script).await == json!(true) {
            return start.elapsed();
        }
        assert!(start.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Clicks the element `css` (a form's button or a link) and waits for the next page to load.
async fn click_and_load(b: &Browser, css: Locator<'_>) {
    js(b, "window.__old_page = true; return true;").await;
    b.find(css).await.unwrap().click().await.unwrap();
    let start = Instant::now();
    loop {
        // While the page changes, a script may fail: that is not yet loaded.
        let loaded = b
            .execute("return window.__old_page !== true && document.readyState === 'complete';", vec![])
            .await
            .is_ok_and(|v| v == json!(true));
        if loaded {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "the click on {css:?} loaded no page");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The texts of the elements `css` of the page.
async fn texts(b: &Browser, css: &str) -> Vec<String> {
    let v = js(b, &format!("return [...document.querySelectorAll({})].map(e => e.textContent.trim());", json!(css))).await;
    serde_json::from_value(v).unwrap()
}

/// Sends keys to the focused element (the way a user types: the element keeps its focus).
async fn press(b: &Browser, keys: &str) {
    b.active_element().await.unwrap().send_keys(keys).await.unwrap();
}

/// Index of the focused thread row, or -1.
async fn focused_row(b: &Browser) -> i64 {
    js(b, "return [...document.querySelectorAll('#thread-list a.row')].indexOf(document.activeElement);")
        .await
        .as_i64()
        .unwrap()
}

/// No element of the page reaches past the viewport's width (no sideways scrolling).
async fn assert_no_horizontal_overflow(b: &Browser, what: &str) {
    let v = js(b, "return [document.documentElement.scrollWidth, window.innerWidth];").await;
    let (scroll, inner) = (v[0].as_i64().unwrap(), v[1].as_i64().unwrap());
    assert!(scroll <= inner, "{what}: the page is {scroll} px wide in a {inner} px viewport");
}

async fn sign_in(b: &Browser, url: &str, key: &str) {
    b.goto(&format!("{url}/login")).await.unwrap();
    b.find(Locator::Css("#api_key"))
        .await
        .unwrap()
        .send_keys(key)
        .await
        .unwrap();
    b.find(Locator::Css("form[action='/login'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .at_most(Duration::from_secs(5))
        .for_element(Locator::Css("header.top"))
        .await
        .expect("signed in");
}

/// Every resource the top-level page loaded came from the server itself.
async fn assert_only_loopback(b: &Browser, origin: &str) {
    let urls = js(
        b,
        "return performance.getEntriesByType('resource').map(e => e.name).concat([location.href]);",
    )
    .await;
    for u in urls.as_array().unwrap() {
        let u = u.as_str().unwrap();
        assert!(
            u.starts_with(origin),
            "the page loaded {u}, which is not the server {origin}"
        );
    }
}

fn hostile_message(canary: SocketAddr, to: &str) -> String {
    let c = format!("http://{canary}");
    format!(
        "From: Mallory <mallory@evil.test>\r\nTo: {to}\r\nSubject: Hostile HTML\r\nMessage-ID: <hostile@evil.test>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nplain part\r\n--b\r\n\
         Content-Type: text/html; charset=utf-8\r\n\r\n<html><body><p id=\"safe\">Harmless paragraph</p>\
         <script>window.__pwned = 'script'; try {{ parent.__pwned = 'script' }} catch (e) {{}} fetch('{c}/script');</script>\
         <img src=\"x.png\" onerror=\"window.__pwned='onerror'; fetch('{c}/onerror')\">\
         <img src=\"{c}/remote.png\" alt=\"tracker\">\
         <form id=\"f\" action=\"{c}/form\" method=\"post\"><input name=\"a\" value=\"1\"><button>Go</button></form>\
         <script>document.getElementById('f').submit()</script>\
         <a href=\"javascript:window.__pwned='link'\">link</a></body></html>\r\n--b--\r\n"
    )
}

/// A client that keeps the console's session cookie, for the HTTP-level checks.
fn cookie_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn http_sign_in(http: &reqwest::Client, url: &str, key: &str) {
    let r = http
        .post(format!("{url}/login"))
        .form(&[("api_key", key), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "sign-in answers 303");
    let cookie = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
}

fn csrf_of(html: &str) -> String {
    let at =
        html.find("name=\"csrf\" value=\"").expect("a CSRF field") + "name=\"csrf\" value=\"".len();
    html[at..at + 64].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_isolation_csrf_and_sign_out_over_http() {
    let app = spawn_app().await;
    let (_, alpha) = app.site_client("alpha").await;
    let (_, beta_key) = app.site_key("beta").await;
    let mb = mailbox(&alpha, "private").await;
    let url = &app.url;

    // Without a session, pages send to the sign-in form; a bad key is refused.
    let http = cookie_client();
    let r = http.get(format!("{url}/mailboxes")).send().await.unwrap();
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers()["location"].to_str().unwrap()
        ),
        (303, "/login?next=%2Fmailboxes")
    );
    let r = http
        .post(format!("{url}/login"))
        .form(&[("api_key", "mr_wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Site beta cannot open alpha's mailbox by URL: 404, as in the API.
    http_sign_in(&http, url, &beta_key).await;
    let r = http
        .get(format!("{url}/mailboxes/{}", mb.id))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = http.get(format!("{url}/mailboxes")).send().await.unwrap();
    let page = r.text().await.unwrap();
    assert!(
        !page.contains(mb.address.as_str()),
        "beta's list shows alpha's mailbox"
    );

    // CSRF: a state-changing post without the token (or with a wrong one) is refused.
    let token = csrf_of(&page);
    for form in [
        vec![("username", "sneaky")],
        vec![("username", "sneaky"), ("csrf", "0000")],
    ] {
        let r = http
            .post(format!("{url}/mailboxes"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        assert!(r.text().await.unwrap().contains("csrf_token_invalid"));
    }
    // A post from another origin to the sign-in form is refused too.
    let r = http
        .post(format!("{url}/login"))
        .header("origin", "http://evil.test")
        .form(&[("api_key", beta_key.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // With the token, the same post works: the check is not refusing everything.
    let r = http
        .post(format!("{url}/mailboxes"))
        .form(&[("username", "beta-box"), ("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let beta_box = r.headers()["location"].to_str().unwrap().to_string();
    let beta = app.client(&beta_key);
    let (s, list) = call(&beta, Method::GET, "/v1/mailboxes", None).await;
    assert_eq!((s, list["items"].as_array().unwrap().len()), (200, 1));

    // Compose goes through the API's send path: a suppressed recipient is refused with the
    // API's own code, and nothing is sent.
    let (s, _) = call(
        &beta,
        Method::POST,
        "/v1/suppressions",
        Some(json!({"address": "gone@customer.test"})),
    )
    .await;
    assert_eq!(s, 201);
    let compose = |to: &'static str| {
        let token = token.clone();
        let http = http.clone();
        let url = format!("{url}{beta_box}/compose");
        async move {
            http.post(url)
                .form(&[
                    ("to", to),
                    ("subject", "Console hello"),
                    ("text", "Sent from the console."),
                    ("csrf", token.as_str()),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let r = compose("gone@customer.test").await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("recipient_suppressed"));
    let r = compose("friend@customer.test").await;
    assert_eq!(r.status(), 303);
    let thread = r.headers()["location"].to_str().unwrap().to_string();
    let page = http
        .get(format!("{url}{thread}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Console hello")
            && page.contains("friend@customer.test")
            && page.contains("queued"),
        "{page}"
    );

    // An admin can switch to alpha and see its mailbox.
    let admin = cookie_client();
    http_sign_in(&admin, url, &app.admin_key).await;
    let page = admin
        .get(format!("{url}/mailboxes"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (s, sites) = call(&app.admin, Method::GET, "/v1/sites", None).await;
    assert_eq!(s, 200);
    let alpha_id = sites["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "alpha")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = admin
        .post(format!("{url}/site"))
        .form(&[
            ("site_id", alpha_id.as_str()),
            ("csrf", csrf_of(&page).as_str()),
            ("next", "/mailboxes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = admin
        .get(format!("{url}/mailboxes"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(mb.address.as_str()));

    // Every oversight page renders for a site key.
    for (path, heading) in [
        ("/tool-runs", "Tool runs"),
        ("/contacts", "Contacts"),
        ("/suppressions", "gone@customer.test"),
        ("/queue", "friend@customer.test"),
        ("/webhooks", "Webhooks"),
        ("/domains", "Domains"),
        ("/events", "mailbox.created"),
        ("/api-keys", "beta key"),
    ] {
        let r = http.get(format!("{url}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert!(
            r.text().await.unwrap().contains(heading),
            "{path} lacks {heading}"
        );
    }
    // A domain added in the console shows the DNS records to publish.
    let r = http
        .post(format!("{url}/domains"))
        .form(&[("name", "beta.example"), ("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let dns = http
        .get(format!(
            "{url}{}",
            r.headers()["location"].to_str().unwrap()
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        dns.contains("<td>TXT</td>")
            && dns.contains("v=spf1")
            && dns.contains("v=DKIM1")
            && dns.contains("_dmarc"),
        "{dns}"
    );
    // A new API key is shown once, and works.
    let r = http
        .post(format!("{url}/api-keys"))
        .form(&[("name", "agent two"), ("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    let at = page.find("id=\"new-key\">").expect("the key is shown") + "id=\"new-key\">".len();
    let new_key = &page[at..at + page[at..].find('<').unwrap()];
    let (s, list) = call(&app.client(new_key), Method::GET, "/v1/mailboxes", None).await;
    assert_eq!(
        (s, list["items"].as_array().unwrap().len()),
        (200, 1),
        "the new key is beta's"
    );

    // Sign-out ends the session on the server.
    let r = http
        .post(format!("{url}/logout"))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = http.get(format!("{url}/mailboxes")).send().await.unwrap();
    assert_eq!(r.status(), 303, "signed out");

    // Console pages allow script and style from the server only, and no framing.
    let r = reqwest::get(format!("{url}/assets/htmx.min.js"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = reqwest::get(format!("{url}/login")).await.unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self'")
            && !csp.contains("unsafe-inline")
            && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
}

/// The session cookie is `Secure` when the console's public URL is HTTPS, and not otherwise
/// (a browser would not send it back over plain HTTP).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_cookie_is_secure_behind_https() {
    for (public_url, secure) in [("https://mail.example.test", true), ("http://127.0.0.1:8025", false)] {
        let app = spawn_app_with(|c| c.http.public_url = public_url.into()).await;
        let r = cookie_client()
            .post(format!("{}/login", app.url))
            .form(&[("api_key", app.admin_key.as_str()), ("next", "/")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let cookie = r.headers()["set-cookie"].to_str().unwrap();
        assert!(cookie.starts_with("mailroom_session=") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
        assert_eq!(cookie.split(';').any(|a| a.trim() == "Secure"), secure, "public_url {public_url}: {cookie}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_chromium() {
    let _one = ONE_BROWSER.lock().await;
    let Some(driver) = start_driver().await else {
        return;
    };
    tokio::time::timeout(BUDGET, story(&driver))
        .await
        .expect("the browser story finished within its time budget");
}

async fn story(driver: &Driver) {
    // A local DNS server: customer.test publishes SPF and DMARC, so mail from it over SMTP
    // (from 127.0.0.1) gets known verdicts; other names do not exist.
    let dns = common::dns::TestDns::start().await;
    dns.txt("customer.test", "v=spf1 ip4:127.0.0.1 -all");
    dns.txt("_dmarc.customer.test", "v=DMARC1; p=reject");
    let app = spawn_app_with(|c| c.dns.nameservers = vec![dns.addr.to_string()]).await;
    let smtp = app.server.as_ref().unwrap().smtp_addr.unwrap();
    let (site, alpha_key) = app.site_key("alpha").await;
    let alpha = app.client(&alpha_key);
    let (_, beta_key) = app.site_key("beta").await;
    let mb = mailbox(&alpha, "support").await;
    let canary = canary().await;
    let url = app.url.clone();
    let b = browser(driver).await;

    // Sign in with the site key: the console opens the site's first mailbox.
    sign_in(&b, &url, &alpha_key).await;
    let here = b.current_url().await.unwrap();
    assert!(
        here.path().ends_with(&format!("/mailboxes/{}", mb.id)),
        "{here}"
    );

    // Mail received over SMTP shows up in the open inbox without a reload, within 2 s.
    js(&b, "window.__still_here = true; return true;").await;
    until(
        &b,
        "return document.documentElement.dataset.live === 'open';",
        Duration::from_secs(5),
        "the live stream connects",
    )
    .await;
    js(&b, "window.__focus_before = document.activeElement; return true;").await;
    let to = mb.address.as_str().to_string();
    let sent_at = Instant::now();
    let message = format!(
        "From: Ann <ann@customer.test>\r\nTo: {to}\r\nSubject: Where is my order?\r\nMessage-ID: <order@customer.test>\r\n\r\nHello, order 42 has not arrived.\r\n"
    );
    let replies = smtp_send(smtp, "ann@customer.test", &[&to], &message).await;
    assert!(replies.iter().any(|r| r.starts_with("250")), "{replies:?}");
    let shown = until(&b, "return [...document.querySelectorAll('#thread-list .subj')].some(e => e.textContent.includes('Where is my order?'));",
        Duration::from_secs(2).saturating_sub(sent_at.elapsed()) + Duration::from_millis(1), "the new message appears live").await;
    println!(
        "new mail shown {:?} after the SMTP send returned ({:?} after it began)",
        shown,
        sent_at.elapsed()
    );
    assert_eq!(
        js(&b, "return window.__still_here === true;").await,
        json!(true),
        "the page was reloaded"
    );
    assert_eq!(
        js(&b, "return document.activeElement === window.__focus_before;").await,
        json!(true),
        "the live update moved the focus"
    );

    // Keyboard: j focuses the first thread, Enter opens it.
    b.find(Locator::Css("body"))
        .await
        .unwrap()
        .send_keys("j")
        .await
        .unwrap();
    assert_eq!(
        js(
            &b,
            "return document.activeElement.classList.contains('row');"
        )
        .await,
        json!(true),
        "j focuses a thread"
    );
    b.find(Locator::Css("#thread-list a.row"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .at_most(Duration::from_secs(5))
        .for_element(Locator::Css("article.message"))
        .await
        .unwrap();
    let h1 = b
        .find(Locator::Css("main h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(h1, "Where is my order?");
    let text = b
        .find(Locator::Css("article.message pre.text"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("order 42"), "{text}");

    // Reply from the thread: the reply is in the thread afterwards.
    b.find(Locator::Css("#reply-text"))
        .await
        .unwrap()
        .send_keys("Sorry about that, it ships today.")
        .await
        .unwrap();
    b.find(Locator::Css("section.reply button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .at_most(Duration::from_secs(5))
        .for_element(Locator::Css("p.notice"))
        .await
        .expect("reply sent");
    let articles = b.find_all(Locator::Css("article.message")).await.unwrap();
    assert_eq!(articles.len(), 2, "the reply joined the thread");
    let thread_text = b
        .find(Locator::Css("#messages"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        thread_text.contains("it ships today") && thread_text.contains("ann@customer.test"),
        "{thread_text}"
    );
    js(&b, "window.scrollTo(0, 0); return true;").await;
    shot(&b, "thread").await;

    // The received message's SPF/DKIM/DMARC verdicts are badges (customer.test publishes SPF
    // and DMARC; the message is not signed).
    let ann_id = js(&b, "return document.querySelector('article.message').id.slice(2);").await;
    let ann_id = ann_id.as_str().unwrap().to_string();
    let ann = format!("#m-{ann_id}");
    assert_eq!(
        texts(&b, &format!("{ann} .auth .badge")).await,
        ["SPF pass", "DKIM none", "DMARC pass"]
    );
    // Mark read / unread, both ways, as the API then tells.
    let read_of = |id: String| {
        let alpha = alpha.clone();
        async move {
            let (s, m) = call(&alpha, Method::GET, &format!("/v1/messages/{id}"), None).await;
            assert_eq!(s, 200);
            m["read"].as_bool().unwrap()
        }
    };
    for _ in 0..2 {
        let before = read_of(ann_id.clone()).await;
        let action = if before { "unread" } else { "read" };
        click_and_load(&b, Locator::Css(&format!("{ann} button[name=action][value={action}]"))).await;
        assert_eq!(read_of(ann_id.clone()).await, !before, "Mark {action}");
    }
    let ann_read = read_of(ann_id.clone()).await;
    // A label added in the thread is shown, and stored.
    b.find(Locator::Css(&format!("#label-{ann_id}"))).await.unwrap().send_keys("vip").await.unwrap();
    click_and_load(&b, Locator::Css(&format!("{ann} button[name=action][value=add_label]"))).await;
    assert_eq!(texts(&b, &format!("{ann} .badge.label")).await, ["vip"]);
    let (_, m) = call(&alpha, Method::GET, &format!("/v1/messages/{ann_id}"), None).await;
    assert_eq!(m["labels"], json!(["vip"]));

    // A hostile HTML message: no script runs, nothing is submitted, nothing loads from outside.
    let replies = smtp_send(
        smtp,
        "mallory@evil.test",
        &[&to],
        &hostile_message(canary.addr, &to),
    )
    .await;
    assert!(replies.iter().any(|r| r.starts_with("250")), "{replies:?}");
    let (_, list) = call(
        &alpha,
        Method::GET,
        &format!("/v1/mailboxes/{}/messages?q=Hostile", mb.id),
        None,
    )
    .await;
    let hostile = &list["items"][0];
    b.goto(&format!(
        "{url}/threads/{}",
        hostile["thread_id"].as_str().unwrap()
    ))
    .await
    .unwrap();
    let frame = b
        .wait()
        .at_most(Duration::from_secs(5))
        .for_element(Locator::Css("iframe.body"))
        .await
        .unwrap();
    assert_eq!(
        frame.attr("sandbox").await.unwrap().as_deref(),
        Some("allow-popups allow-popups-to-escape-sandbox")
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        js(&b, "return typeof window.__pwned;").await,
        json!("undefined"),
        "a script of the message ran in the page"
    );
    b.enter_frame(0).await.unwrap();
    let inside = b
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        inside.contains("Harmless paragraph"),
        "the message's HTML is shown: {inside}"
    );
    assert_eq!(
        js(&b, "return typeof window.__pwned;").await,
        json!("undefined"),
        "a script of the message ran in its frame"
    );
    assert_eq!(
        js(
            &b,
            "return document.forms.length + document.scripts.length;"
        )
        .await,
        json!(0),
        "forms or scripts survived"
    );
    let inner = js(
        &b,
        "return performance.getEntriesByType('resource').map(e => e.name);",
    )
    .await;
    assert!(
        inner
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u.as_str().unwrap().starts_with(&url)),
        "the frame loaded {inner}"
    );
    b.enter_parent_frame().await.unwrap();
    assert_only_loopback(&b, &url).await;
    assert_eq!(
        canary.hits.load(Ordering::SeqCst),
        0,
        "the message reached outside the server"
    );
    // Allowing remote images for this message loads them (the check above can fail).
    b.find(Locator::Css("article.message p.muted a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let start = Instant::now();
    while canary.hits.load(Ordering::SeqCst) == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "allowed remote images did not load"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        js(&b, "return typeof window.__pwned;").await,
        json!("undefined")
    );
    // The frame's document has its own policy: nothing runs, nothing is submitted.
    let csp = js(&b, "return fetch(document.querySelector('iframe.body').src).then(r => r.headers.get('content-security-policy'));").await;
    let csp = csp.as_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("form-action 'none'") && csp.contains("sandbox") && !csp.contains("script-src"),
        "{csp}"
    );

    // An attachment downloads, and the raw source shows, both under a policy that runs nothing.
    let invoice = format!(
        "From: Accounts Receivable Department <accounts.receivable.department@customer.test>\r\nTo: {to}\r\nSubject: Invoice attached\r\n\
         Message-ID: <invoice@customer.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"m\"\r\n\r\n\
         --m\r\nContent-Type: text/plain\r\n\r\nPlease find the invoice attached.\r\n--m\r\n\
         Content-Type: text/plain; name=\"invoice.txt\"\r\nContent-Disposition: attachment; filename=\"invoice.txt\"\r\n\r\n\
         Invoice 7: 120 EUR\r\n--m--\r\n"
    );
    let replies = smtp_send(smtp, "accounts.receivable.department@customer.test", &[&to], &invoice).await;
    assert!(replies.iter().any(|r| r.starts_with("250")), "{replies:?}");
    let (_, list) = call(&alpha, Method::GET, &format!("/v1/mailboxes/{}/messages?q=Invoice", mb.id), None).await;
    let invoice_thread = list["items"][0]["thread_id"].as_str().unwrap().to_string();
    b.goto(&format!("{url}/threads/{invoice_thread}")).await.unwrap();
    assert_eq!(texts(&b, "ul.attachments a[download]").await, ["invoice.txt"]);
    let got = js(&b, "return fetch(document.querySelector('ul.attachments a[download]').href).then(async r => [r.status, r.headers.get('content-security-policy'), await r.text()]);").await;
    assert_eq!(got, json!([200, "default-src 'none'; sandbox", "Invoice 7: 120 EUR"]), "the attachment");
    let got = js(&b, "return fetch(document.querySelector('footer.actions a[href$=\"/raw\"]').href).then(r => [r.status, r.headers.get('content-security-policy'), r.headers.get('content-type')]);").await;
    assert_eq!(got, json!([200, "default-src 'none'; sandbox", "text/plain; charset=utf-8"]), "the raw source");
    click_and_load(&b, Locator::LinkText("Raw source")).await;
    let raw = b.find(Locator::Css("body")).await.unwrap().text().await.unwrap();
    assert!(raw.contains("Subject: Invoice attached") && raw.contains("Content-Disposition: attachment"), "{raw}");

    // The inbox at 1280 px: each row's participants stay clear of its subject.
    b.goto(&format!("{url}/mailboxes/{}", mb.id)).await.unwrap();
    let rows = js(&b, "return document.querySelectorAll('#thread-list a.row').length;").await;
    assert!(rows.as_i64().unwrap() >= 3, "{rows}");
    let overlaps = js(&b, "return [...document.querySelectorAll('#thread-list a.row')].filter(r => { \
        const w = r.querySelector('.who').getBoundingClientRect(), s = r.querySelector('.subj').getBoundingClientRect(); \
        return w.width > 0 && s.width > 0 && !(w.right <= s.left || s.right <= w.left || w.bottom <= s.top || s.bottom <= w.top); \
    }).map(r => r.querySelector('.who').textContent);").await;
    assert_eq!(overlaps, json!([]), "participants run over the subject");
    // Keyboard: j and k move through the threads, Enter opens the focused one, / searches.
    b.find(Locator::Css("body")).await.unwrap().send_keys("j").await.unwrap();
    assert_eq!(focused_row(&b).await, 0, "j focuses the first thread");
    press(&b, "j").await;
    assert_eq!(focused_row(&b).await, 1, "j moves down");
    shot(&b, "inbox").await;
    press(&b, "k").await;
    assert_eq!(focused_row(&b).await, 0, "k moves up");
    press(&b, "j").await;
    let second = js(&b, "return document.activeElement.getAttribute('href');").await;
    js(&b, "window.__old_page = true; return true;").await;
    press(&b, "\u{E007}").await;
    until(&b, "return window.__old_page !== true && document.readyState === 'complete';", Duration::from_secs(5), "Enter opens the thread").await;
    assert_eq!(b.current_url().await.unwrap().path(), second.as_str().unwrap(), "Enter opened another thread");
    b.goto(&format!("{url}/mailboxes/{}", mb.id)).await.unwrap();
    b.find(Locator::Css("body")).await.unwrap().send_keys("/").await.unwrap();
    assert_eq!(js(&b, "return document.activeElement.id;").await, json!("q"), "/ focuses the search box");
    js(&b, "window.__old_page = true; return true;").await;
    press(&b, "Invoice\u{E007}").await;
    until(&b, "return window.__old_page !== true && document.readyState === 'complete';", Duration::from_secs(5), "the search runs").await;
    assert_eq!(b.current_url().await.unwrap().query(), Some("q=Invoice&unread=&direction=&label="));
    assert_eq!(texts(&b, "#thread-list .subj").await, ["Invoice attached"], "search q=Invoice");
    // Search and filters, by URL as the form sends them.
    let inbox = |query: &str| format!("{url}/mailboxes/{}?{query}", mb.id);
    b.goto(&inbox("q=zzzz-no-such-words")).await.unwrap();
    assert_eq!(texts(&b, "#thread-list .subj").await, Vec::<String>::new(), "a search without match");
    b.goto(&inbox("direction=outbound")).await.unwrap();
    let sent = texts(&b, "#thread-list .subj").await;
    assert!(sent.iter().any(|s| s == "Re: Where is my order?") && !sent.iter().any(|s| s == "Invoice attached"), "sent: {sent:?}");
    assert!(texts(&b, "#thread-list .count").await.iter().all(|d| d == "outbound"));
    b.goto(&inbox("direction=inbound")).await.unwrap();
    let received = texts(&b, "#thread-list .subj").await;
    assert!(received.iter().any(|s| s == "Invoice attached") && !received.iter().any(|s| s.starts_with("Re:")), "received: {received:?}");
    b.goto(&inbox("label=vip")).await.unwrap();
    assert_eq!(texts(&b, "#thread-list .subj").await, ["Where is my order?"], "label=vip");
    for (state, listed) in [("unread", !ann_read), ("read", ann_read)] {
        b.goto(&inbox(&format!("unread={state}"))).await.unwrap();
        let hrefs = js(&b, "return [...document.querySelectorAll('#thread-list a.row')].map(a => a.getAttribute('href'));").await;
        let has = hrefs.as_array().unwrap().iter().any(|h| h.as_str().unwrap().ends_with(&format!("#m-{ann_id}")));
        assert_eq!(has, listed, "unread={state}: {hrefs}");
    }
    // A phone-sized viewport: nothing wider than the screen.
    b.goto(&format!("{url}/mailboxes/{}", mb.id)).await.unwrap();
    b.set_window_size(390, 844).await.unwrap();
    assert_no_horizontal_overflow(&b, "the inbox on a phone").await;
    shot(&b, "inbox-phone").await;
    b.goto(&format!("{url}/threads/{invoice_thread}")).await.unwrap();
    assert_no_horizontal_overflow(&b, "a thread on a phone").await;
    b.set_window_size(1280, 900).await.unwrap();

    // A tool run: the agent-mailbox channel sends; the run's decision is shown.
    let (s, _) = call(
        &alpha,
        Method::PUT,
        "/v1/settings",
        Some(json!({"channels": {"agent_email": {"status": "active",
        "username": mb.address.local_part(), "domain": mb.address.domain()}}})),
    )
    .await;
    assert_eq!(s, 200);
    // The tool-runs page is open while the agent calls the tool: each run appears without a
    // reload, brought by the stream's `tool_run.created`.
    b.goto(&format!("{url}/tool-runs")).await.unwrap();
    until(&b, "return document.documentElement.dataset.live === 'open';", Duration::from_secs(5), "the live stream connects").await;
    js(&b, "window.__still_here = true; window.__sse = []; document.addEventListener('htmx:sseMessage', e => window.__sse.push(e.detail.type)); return true;").await;
    assert_eq!(js(&b, "return document.querySelectorAll('#runs tbody tr').length;").await, json!(0));
    let invoke = || call(&alpha, Method::POST, "/v1/tools/send_email/invoke", Some(json!({"email": "lead@customer.test",
        "subject": "Your quote", "message": "Here is the quote you asked for.", "site_id": site.id.to_string(), "from": "Sales"})));
    let (s, v) = invoke().await;
    assert_eq!(s, 201, "{v}");
    until(&b, "return document.querySelectorAll('#runs tbody tr').length === 1;", Duration::from_secs(5), "the run appears live").await;
    let (s, v) = invoke().await;
    let refused_code = v["code"].as_str().unwrap_or("").to_string();
    println!("second identical send: {s} {refused_code}");
    until(&b, "return document.querySelectorAll('#runs tbody tr').length === 2;", Duration::from_secs(5), "the second run appears live").await;
    assert_eq!(js(&b, "return window.__still_here === true;").await, json!(true), "the page was reloaded");
    let heard = js(&b, "return window.__sse;").await;
    assert!(heard.as_array().unwrap().iter().any(|t| t == "tool_run.created"), "no tool_run.created event reached the page: {heard}");
    // Filters by tool and by status.
    let (_, runs) = call(&alpha, Method::GET, "/v1/tool-runs", None).await;
    let statuses: Vec<String> = runs["items"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap().to_string()).collect();
    assert_eq!(statuses.len(), 2);
    for (query, expected) in [
        ("tool=send_email".to_string(), 2),
        ("tool=no_such_tool".to_string(), 0),
        (format!("status={}", statuses[0]), statuses.iter().filter(|s| **s == statuses[0]).count()),
        (format!("status={}", statuses[1]), statuses.iter().filter(|s| **s == statuses[1]).count()),
        ("tool=send_email&status=no_such_status".to_string(), 0),
    ] {
        b.goto(&format!("{url}/tool-runs?{query}")).await.unwrap();
        let shown = js(&b, "return document.querySelectorAll('#runs tbody tr').length;").await;
        assert_eq!(shown, json!(expected), "tool runs ?{query}");
        if expected == 0 {
            assert_eq!(texts(&b, "p.empty").await, ["No tool run matches."]);
        }
    }
    b.goto(&format!("{url}/tool-runs")).await.unwrap();
    b.find(Locator::Css("#runs tbody tr:last-child td a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .at_most(Duration::from_secs(5))
        .for_element(Locator::Css("#decision-h"))
        .await
        .unwrap();
    let decision = b
        .find(Locator::Css("p.decision"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !decision.trim().is_empty() && decision != "—",
        "the decision is shown: {decision:?}"
    );
    let page = b.source().await.unwrap();
    assert!(
        page.contains("Open the message") && page.contains("lead@customer.test"),
        "the run links to its message and shows its inputs"
    );
    shot(&b, "tool-run").await;
    b.find(Locator::LinkText("Open the message"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .at_most(Duration::from_secs(5))
        .for_element(Locator::Css("article.message"))
        .await
        .unwrap();
    assert!(b.source().await.unwrap().contains("Your quote"));

    // The queue holds the reply to ann (delivery is off in this test), with retry and cancel.
    b.goto(&format!("{url}/queue")).await.unwrap();
    let queue = b
        .find(Locator::Css("#queue"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(queue.contains("ann@customer.test"), "{queue}");
    shot(&b, "queue").await;
    // A delivery outcome shows in the open thread without a reload: the reply to ann is
    // cancelled over REST, and its recipient's status changes on the page.
    let (_, msgs) = call(&alpha, Method::GET, &format!("/v1/mailboxes/{}/messages?direction=outbound&q=ships", mb.id), None).await;
    let reply = &msgs["items"][0];
    let reply_id = reply["id"].as_str().unwrap().to_string();
    b.goto(&format!("{url}/threads/{}", reply["thread_id"].as_str().unwrap())).await.unwrap();
    until(&b, "return document.documentElement.dataset.live === 'open';", Duration::from_secs(5), "the live stream connects").await;
    js(&b, "window.__still_here = true; return true;").await;
    assert!(!b.source().await.unwrap().contains("cancelled by an operator"));
    let (s, v) = call(&alpha, Method::POST, &format!("/v1/messages/{reply_id}/recipients/ann@customer.test/cancel"), Some(json!({}))).await;
    assert_eq!(s, 200, "{v}");
    until(&b, "return document.getElementById('messages').textContent.includes('cancelled by an operator');", Duration::from_secs(5), "the delivery outcome appears live").await;
    assert_eq!(js(&b, "return window.__still_here === true;").await, json!(true), "the page was reloaded");
    // Retry from the queue's failed view: the recipient waits again.
    b.goto(&format!("{url}/queue?status=failed%2Cbounced")).await.unwrap();
    click_and_load(&b, Locator::XPath("//tr[contains(., 'ann@customer.test')]//button[text()='Retry now']")).await;
    assert_eq!(texts(&b, "p.notice").await, ["Retry scheduled."]);
    let (_, m) = call(&alpha, Method::GET, &format!("/v1/messages/{reply_id}"), None).await;
    assert_eq!(m["recipients"][0]["status"], "queued", "{m}");
    b.goto(&format!("{url}/queue")).await.unwrap();
    b.find(Locator::XPath(
        "//tr[contains(., 'ann@customer.test')]//button[text()='Cancel']",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    b.wait()
        .at_most(Duration::from_secs(5))
        .for_element(Locator::Css("p.notice"))
        .await
        .unwrap();
    let (_, msgs) = call(
        &alpha,
        Method::GET,
        &format!(
            "/v1/mailboxes/{}/messages?direction=outbound&q=ships",
            mb.id
        ),
        None,
    )
    .await;
    let r = &msgs["items"][0]["recipients"][0];
    assert_eq!(
        (r["status"].as_str(), r["last_reply"].as_str()),
        (Some("failed"), Some("cancelled by an operator")),
        "{msgs}"
    );

    // Rename a mailbox, then delete it through its confirmation page.
    let scratch = mailbox(&alpha, "scratch").await;
    b.goto(&format!("{url}/mailboxes")).await.unwrap();
    let name = b.find(Locator::Css(&format!("#name-{}", scratch.id))).await.unwrap();
    name.clear().await.unwrap();
    name.send_keys("Scratch Box").await.unwrap();
    click_and_load(&b, Locator::Css(&format!("form[action='/mailboxes/{}/rename'] button", scratch.id))).await;
    assert_eq!(texts(&b, "p.notice").await, ["Mailbox renamed."]);
    let (_, m) = call(&alpha, Method::GET, &format!("/v1/mailboxes/{}", scratch.id), None).await;
    assert_eq!(m["display_name"], "Scratch Box");
    click_and_load(&b, Locator::Css(&format!("a[href='/mailboxes/{}/delete']", scratch.id))).await;
    let (s, _) = call(&alpha, Method::GET, &format!("/v1/mailboxes/{}", scratch.id), None).await;
    assert_eq!(s, 200, "the confirmation page deletes nothing");
    click_and_load(&b, Locator::Css("main button.danger")).await;
    assert_eq!(texts(&b, "p.notice").await, ["Mailbox deleted."]);
    let (s, _) = call(&alpha, Method::GET, &format!("/v1/mailboxes/{}", scratch.id), None).await;
    assert_eq!(s, 404, "the mailbox is deleted");

    // Delete an API key: it stops working.
    let (s, created) = call(&alpha, Method::POST, "/v1/api-keys", Some(json!({"name": "temp key"}))).await;
    assert_eq!(s, 201, "{created}");
    let temp = app.client(created["key"].as_str().unwrap());
    assert_eq!(call(&temp, Method::GET, "/v1/mailboxes", None).await.0, 200);
    b.goto(&format!("{url}/api-keys")).await.unwrap();
    click_and_load(&b, Locator::XPath("//tr[contains(., 'temp key')]//button[text()='Delete']")).await;
    assert_eq!(texts(&b, "p.notice").await, ["Key deleted."]);
    assert_eq!(call(&temp, Method::GET, "/v1/mailboxes", None).await.0, 401, "the deleted key still works");
    assert_eq!(call(&alpha, Method::GET, "/v1/mailboxes", None).await.0, 200, "the wrong key was deleted");

    // Another site's key: alpha's mailbox by URL is a 404 page.
    b.find(Locator::Css("form[action='/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    sign_in(&b, &url, &beta_key).await;
    b.goto(&format!("{url}/mailboxes/{}", mb.id)).await.unwrap();
    let h1 = b
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(h1.contains("Not Found"), "{h1}");
    assert!(!b.source().await.unwrap().contains("Where is my order?"));

    // CSRF from the page itself: a post without the token is refused.
    let status = js(&b, "return fetch('/mailboxes', {method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded'}, body: 'username=x'}).then(r => r.status);").await;
    assert_eq!(status, json!(403));

    b.close().await.unwrap();
}

/// First paint of an inbox with 10,000 messages (10,000 threads), measured by the browser
/// (`first-contentful-paint`), and the time the server takes to serve that page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbox_first_paint_with_ten_thousand_messages() {
    const MESSAGES: usize = 10_000;
    let _one = ONE_BROWSER.lock().await;
    let Some(driver) = start_driver().await else {
        return;
    };
    tokio::time::timeout(Duration::from_secs(300), async {
        // A local DNS server, so SPF/DKIM/DMARC lookups of the seeded mail answer at once.
        let dns = common::dns::TestDns::start().await;
        let app = spawn_app_with(|c| c.dns.nameservers = vec![dns.addr.to_string()]).await;
        let (_, key) = app.site_key("big").await;
        let c = app.client(&key);
        let mb = mailbox(&c, "busy").await;
        let engine = app.server.as_ref().unwrap().engine.clone();
        let session = mailroom_engine::InboundSession { remote_ip: "127.0.0.1".parse().unwrap(), helo: "sender.test".into(), mail_from: "bulk@sender.test".into() };
        let to = mb.address.as_str().to_string();
        let started = Instant::now();
        let mut tasks = Vec::new();
        for worker in 0..32 {
            let (engine, session, to) = (engine.clone(), session.clone(), to.clone());
            tasks.push(tokio::spawn(async move {
                for i in (worker..MESSAGES).step_by(32) {
                    let raw = format!("From: Sender {i} <s{i}@sender.test>\r\nTo: {to}\r\nSubject: Message number {i}\r\nMessage-ID: <m{i}@sender.test>\r\n\r\nBody of message {i}.\r\n");
                    engine.accept_inbound(&session, std::slice::from_ref(&to), raw.into()).await.expect("stored");
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        println!("10,000 messages stored in {:?}", started.elapsed());
        // The server's part: the whole inbox page, rendered and read, over HTTP.
        let http = cookie_client();
        http_sign_in(&http, &app.url, &key).await;
        let mut served = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            let page = http.get(format!("{}/mailboxes/{}", app.url, mb.id)).send().await.unwrap().text().await.unwrap();
            served.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(page.matches("class=\"row\"").count(), 50, "a full first page of threads");
            assert!(page.contains("Older threads"));
        }
        println!("inbox page served over 10,000 messages, 5 loads (ms): {served:.1?}");
        let b = browser(&driver).await;
        sign_in(&b, &app.url, &key).await;
        let mut paints = Vec::new();
        for _ in 0..5 {
            b.goto(&format!("{}/mailboxes/{}", app.url, mb.id)).await.unwrap();
            let fcp = js(&b, "return new Promise(r => { const f = () => { const e = performance.getEntriesByName('first-contentful-paint')[0]; if (e) r(e.startTime); else setTimeout(f, 10); }; f(); });").await;
            paints.push(fcp.as_f64().unwrap());
        }
        let rows = js(&b, "return document.querySelectorAll('#thread-list li').length;").await;
        assert_eq!(rows, json!(50));
        paints.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!("inbox first-contentful-paint over 10,000 messages, 5 loads (ms): {paints:?}");
        served.sort_by(|a, b| a.partial_cmp(b).unwrap());
        // Timings are figures to read, not assertions: on a shared 2-core machine they swing
        // with other work (the brief: performance is checked by benchmarks, never by timed
        // tests). The goal is a first paint under 100 ms.
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        println!(
            "inbox served in {:.1} ms (median of 5), first paint {:.1} ms at best (goal < 100 ms); load average {}",
            served[2],
            paints[0],
            load.split_whitespace().next().unwrap_or("?")
        );
        b.close().await.unwrap();
    })
    .await
    .expect("within the time budget");
}
