//! A plain SMTP client for tests: line by line, every reply returned.
#![allow(dead_code)]

/// Reads one (possibly multi-line) SMTP reply; `None` when the connection closed or failed.
pub async fn read_reply(r: &mut tokio::io::BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<String> {
    use tokio::io::AsyncBufReadExt;
    let mut full = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await.ok()? == 0 {
            return (!full.is_empty()).then_some(full);
        }
        full.push_str(&line);
        if line.len() < 4 || line.as_bytes()[3] == b' ' {
            return Some(full);
        }
    }
}

/// Sends one message over plain SMTP and returns the server's replies, one per command.
pub async fn smtp_send(addr: std::net::SocketAddr, from: &str, to: &[&str], message: &str) -> Vec<String> {
    let mut lines = vec!["EHLO client.test".to_string(), format!("MAIL FROM:<{from}>")];
    lines.extend(to.iter().map(|t| format!("RCPT TO:<{t}>")));
    lines.push("DATA".into());
    smtp_dialogue(addr, &lines, Some(message)).await
}

/// Speaks SMTP line by line; `data` is sent (dot-terminated) after a 354.
pub async fn smtp_dialogue(addr: std::net::SocketAddr, commands: &[String], data: Option<&str>) -> Vec<String> {
    use tokio::io::{AsyncWriteExt, BufReader};
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    async fn reply(r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> String {
        read_reply(r).await.map(|s| s.trim_end().to_string()).unwrap_or_default()
    }
    let mut out = vec![reply(&mut r).await];
    for c in commands {
        w.write_all(format!("{c}\r\n").as_bytes()).await.unwrap();
        let rep = reply(&mut r).await;
        let go_data = rep.starts_with("354");
        out.push(rep);
        if go_data {
            let body = data.unwrap_or_default();
            w.write_all(body.as_bytes()).await.unwrap();
            w.write_all(b".\r\n").await.unwrap();
            out.push(reply(&mut r).await);
        }
    }
    w.write_all(b"QUIT\r\n").await.unwrap();
    out
}

