//! Real Postfix as a peer, in both directions: the `mailroom` binary delivers to a private
//! Postfix instance (which stores the message in a Maildir), and Postfix relays mail for
//! Mailroom's domain to Mailroom's SMTP listener.
//!
//! Needs Postfix (`apt-get install postfix`; `.ci/run` installs it) and root, since Postfix
//! drops privileges to the `postfix` user. Without `/usr/sbin/postfix` the test says so and
//! passes.

mod common;

use common::dns::TestDns;
use common::process::{Served, serve_env, stop};
use mailroom_client::Client;
use mailroom_core::api::*;
use mailroom_core::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const POSTFIX: &str = "/usr/sbin/postfix";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A private Postfix instance in a temporary directory, run in the foreground as a child
/// (`postfix start-fg`), stopped on drop.
struct Postfix {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

impl Postfix {
    fn conf(&self) -> PathBuf {
        self.dir.path().join("conf")
    }

    fn maildir_new(&self) -> PathBuf {
        self.dir.path().join("mail/inbox/new")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postfix.log")).unwrap_or_default()
    }

    /// Writes the configuration and starts Postfix listening on `port`: `postfix.test` is
    /// delivered to the Maildir `mail/inbox/`, `mailroom.test` is relayed to `mailroom_smtp`.
    fn start(port: u16, mailroom_smtp: u16) -> Postfix {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        // Postfix's daemons run as `postfix` (data directory) and nobody (Maildir); they must
        // be able to reach into the temporary directory.
        set_mode(base, 0o755);
        for d in ["conf", "queue", "data", "mail"] {
            std::fs::create_dir(base.join(d)).unwrap();
        }
        chown(&base.join("data"), "postfix");
        chown(&base.join("mail"), "65534:65534");

        let master = std::fs::read_to_string("/usr/share/postfix/master.cf.dist").expect("postfix ships master.cf.dist");
        let mut replaced = false;
        let master: String = master
            .lines()
            .map(|l| {
                if l.starts_with("smtp ") && l.contains(" inet ") {
                    replaced = true;
                    format!("127.0.0.1:{port} inet n - n - - smtpd")
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        assert!(replaced, "master.cf.dist has an `smtp inet` line");
        std::fs::write(base.join("conf/master.cf"), master + "\n").unwrap();
        let b = base.display();
        let main_cf = format!(
            "compatibility_level = 3.6
queue_directory = {b}/queue
data_directory = {b}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = postfix.test
mydestination =
alias_maps =
alias_database =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_peername_lookup = no
virtual_mailbox_domains = postfix.test
virtual_mailbox_base = {b}/mail
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
relay_domains = mailroom.test
transport_maps = inline:{{ mailroom.test=smtp:[127.0.0.1]:{mailroom_smtp} }}
maillog_file = /dev/stdout
"
        );
        std::fs::write(base.join("conf/main.cf"), main_cf).unwrap();
        let conf = base.join("conf");
        run(Command::new("postconf").arg("-c").arg(&conf).args(["-F", "*/*/chroot = n"]));

        let log = std::fs::File::create(base.join("postfix.log")).unwrap();
        let child = Command::new(POSTFIX)
            .arg("-c")
            .arg(&conf)
            .arg("start-fg")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("postfix start-fg");
        let mut postfix = Postfix { dir, port, child: Some(child) };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = postfix.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("postfix exited with {status} before listening:\n{}", postfix.log());
            }
            assert!(Instant::now() < deadline, "postfix did not listen on {port} within 20 s:\n{}", postfix.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        postfix
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- postfix log ---\n{}--- end of postfix log ---", self.log());
        }
        let _ = Command::new(POSTFIX).arg("-c").arg(self.conf()).arg("stop").stdout(Stdio::null()).stderr(Stdio::null()).status();
        let Some(mut child) = self.child.take() else { return };
        for _ in 0..100 {
            if child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // `postfix stop` did not work: kill the master (its own process group) and the script.
        if let Ok(pid) = std::fs::read_to_string(self.dir.path().join("queue/pid/master.pid")) {
            if let Ok(pid) = pid.trim().parse() {
                common::process::kill_process_group(pid);
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// The Mailroom child process, killed on drop if the test did not stop it.
struct Mailroom(Option<Served>);

impl Drop for Mailroom {
    fn drop(&mut self) {
        if let Some(mut s) = self.0.take() {
            let _ = s.child.kill();
            let _ = s.child.wait();
        }
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn chown(path: &Path, owner: &str) {
    run(Command::new("chown").arg(owner).arg(path));
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

async fn wait_for<T, F, Fut>(what: &str, secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {secs} s waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mailroom_and_postfix_exchange_mail_in_both_directions() {
    if !Path::new(POSTFIX).exists() {
        eprintln!("SKIPPED: postfix is not installed; `apt-get install postfix` (debconf: No configuration) or run .ci/run, which installs it");
        return;
    }
    let dns = TestDns::start().await;
    let postfix_port = free_port();

    // Mailroom first (its SMTP port goes into Postfix's transport map), routing postfix.test
    // straight to Postfix's port.
    let data = tempfile::tempdir().unwrap();
    let dns_addr = dns.addr.to_string();
    let route = format!("postfix.test=127.0.0.1:{postfix_port}");
    let env = [
        ("MAILROOM_DOMAINS", "mailroom.test"),
        ("MAILROOM_HOSTNAME", "mx.mailroom.test"),
        ("MAILROOM_DELIVERY_ROUTES", route.as_str()),
        ("MAILROOM_DNS_NAMESERVERS", dns_addr.as_str()),
    ];
    let mut mailroom = Mailroom(Some(serve_env(data.path(), &[], &env)));
    let served = mailroom.0.as_ref().unwrap();
    let mailroom_smtp = served.smtp.expect("SMTP is on").port();
    let key = std::fs::read_to_string(data.path().join("admin-api-key")).unwrap().trim().to_string();
    let api = Client::new(&served.url, key).unwrap();

    let postfix = Postfix::start(postfix_port, mailroom_smtp);
    let agent = api
        .create_mailbox(&CreateMailboxRequest { username: "agent".into(), domain: Some("mailroom.test".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(agent.address.to_string(), "agent@mailroom.test");

    // Direction 1: Mailroom → Postfix → Maildir.
    let body = "Hello Postfix, this is Mailroom.";
    let sent = api
        .send_message(
            agent.id,
            &SendMessageRequest { to: vec!["someone@postfix.test".into()], subject: "To Postfix".into(), text: Some(body.into()), ..Default::default() },
            None,
        )
        .await
        .unwrap();
    let new = postfix.maildir_new();
    let file = wait_for("a message in Postfix's Maildir", 30, || {
        let new = new.clone();
        async move { std::fs::read_dir(&new).ok()?.filter_map(Result::ok).map(|e| e.path()).next() }
    })
    .await;
    let stored = std::fs::read_to_string(&file).unwrap();
    assert!(stored.contains("Subject: To Postfix"), "{stored}");
    assert!(stored.contains(&format!("Message-ID: <{}>", sent.message_id)) || stored.contains(&format!("Message-Id: <{}>", sent.message_id)), "{stored}");
    assert!(stored.contains(body), "{stored}");
    assert!(stored.contains("Delivered-To: someone@postfix.test") || stored.contains("Delivered-To: inbox"), "Postfix's virtual agent wrote it: {stored}");
    assert!(stored.contains("by postfix.test (Postfix)"), "Postfix's own Received header: {stored}");
    let delivered = wait_for("the recipient to be delivered", 30, || async {
        let m = api.get_message(sent.id).await.unwrap();
        (m.recipients[0].status == DeliveryStatus::Delivered).then_some(m)
    })
    .await;
    let reply = delivered.recipients[0].last_reply.clone().unwrap_or_default();
    assert!(reply.starts_with("250 2.0.0 Ok: queued as "), "Postfix's reply is recorded: {reply:?}");
    eprintln!("Mailroom → Postfix: {} in the Maildir; Mailroom recorded {reply:?}", file.file_name().unwrap().to_string_lossy());

    // Direction 2: a client submits to Postfix, which relays to Mailroom.
    let message = "From: Someone <someone@postfix.test>\r\nTo: agent@mailroom.test\r\nSubject: Through Postfix\r\n\
                   Message-ID: <via-postfix-1@postfix.test>\r\n\r\nRelayed by Postfix.\r\n";
    let replies = common::smtp::smtp_send(([127, 0, 0, 1], postfix.port).into(), "someone@postfix.test", &["agent@mailroom.test"], message).await;
    assert!(replies[5].starts_with("250"), "Postfix accepted the message: {replies:?}");
    let got = wait_for("the message relayed by Postfix", 30, || async {
        let page = api.list_messages(agent.id, &MessageQuery { direction: Some("inbound".into()), ..Default::default() }).await.unwrap();
        page.items.into_iter().find(|m| m.message_id.as_deref() == Some("via-postfix-1@postfix.test"))
    })
    .await;
    assert_eq!(got.direction, Direction::Inbound);
    assert_eq!(got.subject.as_deref(), Some("Through Postfix"));
    assert_eq!(got.text.as_deref().map(str::trim), Some("Relayed by Postfix."));
    let raw = String::from_utf8(api.get_raw_message(got.id).await.unwrap().to_vec()).unwrap();
    let received: Vec<&str> = raw.lines().filter(|l| l.starts_with("Received:")).collect();
    assert!(raw.contains("by postfix.test (Postfix) with ESMTP"), "Postfix's Received header is there: {raw}");
    let log = postfix.log();
    assert!(log.contains(&format!("relay=127.0.0.1[127.0.0.1]:{mailroom_smtp}")) && log.contains("status=sent"), "Postfix logged the relay to Mailroom:\n{log}");
    eprintln!("Postfix → Mailroom: stored as {} with {} Received header(s)", got.id, received.len());

    drop(postfix);
    stop(mailroom.0.take().unwrap());
}
