//! Sanitising received HTML for display. ammonia keeps a safe subset (no script, no event
//! handler, no form, no style element, no frame) and this module decides about images: inline
//! parts (`cid:`) point at the message's own attachments, `data:` images stay, and remote
//! images are dropped unless the user allowed them for this message. The sanitised document
//! is then served with [`body_csp`], in a sandboxed frame, so even a sanitiser bug cannot run
//! script or submit anything.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

/// The sanitised HTML of one message.
pub struct Clean {
    /// The HTML to show.
    pub html: String,
    /// Whether remote images were removed (so the page offers to show them).
    pub blocked_remote: bool,
}

fn is_remote(url: &str) -> bool {
    let u = url.trim_start().to_ascii_lowercase();
    u.starts_with("http:") || u.starts_with("https:") || u.starts_with("//")
}

/// Sanitises `html`. `inline` maps Content-IDs to the URLs of their attachments.
pub fn clean(html: &str, inline: &HashMap<String, String>, allow_remote: bool) -> Clean {
    let blocked = std::sync::Arc::new(AtomicBool::new(false));
    let flag = blocked.clone();
    let inline = inline.clone();
    let mut b = ammonia::Builder::default();
    b.add_generic_attributes(["style", "align", "valign", "bgcolor", "width", "height"])
        .add_tag_attributes("td", ["colspan", "rowspan"])
        .add_tag_attributes("th", ["colspan", "rowspan"])
        .add_tag_attributes("font", ["color", "face", "size"])
        .add_tags(["font", "center"])
        .add_url_schemes(["cid", "data"])
        .set_tag_attribute_value("a", "target", "_blank")
        .link_rel(Some("noopener noreferrer"))
        .attribute_filter(move |element, attribute, value| {
            match (element, attribute) {
                ("img", "src") => {
                    let lower = value.trim().to_ascii_lowercase();
                    if let Some(cid) = lower.strip_prefix("cid:") {
                        return inline.get(cid).map(|u| u.clone().into());
                    }
                    if lower.starts_with("data:image/") {
                        return Some(value.into());
                    }
                    if is_remote(value) {
                        if allow_remote {
                            return Some(value.into());
                        }
                        flag.store(true, Ordering::Relaxed);
                    }
                    None
                }
                (_, "href") if value.trim_start().to_ascii_lowercase().starts_with("data:") => None,
                (_, "style") if value.to_ascii_lowercase().contains("url(") && !allow_remote => {
                    // Background images would load from outside; the CSP blocks them too.
                    flag.store(true, Ordering::Relaxed);
                    None
                }
                _ => Some(value.into()),
            }
        });
    let html = b.clean(html).to_string();
    Clean {
        html,
        blocked_remote: blocked.load(Ordering::Relaxed),
    }
}

/// The Content-Security-Policy of a message body: no script, no form, no plugin, no frame,
/// styles only inline, images only from this server (inline parts) and `data:` unless remote
/// images were allowed; `sandbox` applies even when the body is opened on its own.
pub fn body_csp(allow_remote: bool) -> String {
    let img = if allow_remote {
        "'self' data: https: http:"
    } else {
        "'self' data:"
    };
    format!(
        "default-src 'none'; img-src {img}; style-src 'unsafe-inline'; font-src data:; form-action 'none'; \
         base-uri 'none'; frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = r#"<p onclick="x()">Hi</p><script>window.pwned=1</script>
        <img src="http://tracker.test/p.gif" onerror="window.pwned=2">
        <form action="http://evil.test/"><input name=a></form><iframe src="http://evil.test"></iframe>
        <a href="javascript:alert(1)">j</a><img src="cid:logo@x"><style>body{}</style>"#;

    #[test]
    fn scripts_handlers_forms_and_remote_images_are_removed() {
        let inline = HashMap::from([("logo@x".to_string(), "/attachments/1".to_string())]);
        let c = clean(HOSTILE, &inline, false);
        for bad in [
            "script",
            "onerror",
            "onclick",
            "<form",
            "<input",
            "iframe",
            "tracker.test",
            "javascript:",
            "<style",
        ] {
            assert!(!c.html.contains(bad), "{bad} survived: {}", c.html);
        }
        assert!(c.blocked_remote);
        assert!(c.html.contains(r#"src="/attachments/1""#), "{}", c.html);
        assert!(c.html.contains("Hi"));
    }

    #[test]
    fn remote_images_come_back_when_allowed() {
        let c = clean(HOSTILE, &HashMap::new(), true);
        assert!(
            c.html.contains("http://tracker.test/p.gif")
                && !c.blocked_remote
                && !c.html.contains("onerror")
        );
        assert!(
            body_csp(false).contains("img-src 'self' data:;") && body_csp(true).contains("https:")
        );
    }
}
