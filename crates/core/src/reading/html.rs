//! One pass over an HTML body with html5ever's tokenizer (no tree is built, so the cost is
//! linear and small): what a person sees, what is hidden from them and why, the links with
//! their text, and the body without its quoted history and signature.
//!
//! The tokenizer is the WHATWG one; nesting is tracked with a stack that closes elements the
//! way mail HTML needs (an end tag pops to its open element; stray end tags are ignored;
//! void elements are never pushed). Quote containers are recognised by the markers real
//! clients write: Gmail `div.gmail_quote`, Apple Mail and Thunderbird `blockquote[type=cite]`,
//! Thunderbird `div.moz-cite-prefix` / `moz-forward-container`, Yahoo `div.yahoo_quoted`,
//! Proton `div.protonmail_quote`, Outlook on the web `div#appendonsend` / `div#divRplyFwdMsg`,
//! Outlook desktop's header box (`border-top:solid #E1E1E1`), new Outlook's
//! `#mail-editor-reference-message-container`, Zimbra `hr#zwchr`. Signatures: Gmail
//! `div.gmail_signature`, Thunderbird `.moz-signature`, Outlook `#Signature`.

use super::patterns;
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts};
use std::cell::RefCell;

/// The most HTML looked at, in bytes; the rest is treated as if absent (and said so).
pub const HTML_SCAN_MAX: usize = 1024 * 1024;

/// Text that is in the HTML but that a person reading it would not see.
#[derive(Debug, Clone, PartialEq)]
pub struct HiddenText {
    /// Why it is hidden (`display:none`, `zero font size`, `same colour as background`, …).
    pub why: String,
    /// The text (at most a few hundred characters kept).
    pub text: String,
    /// Whether it comes before any visible text (where newsletters put their "preheader").
    pub leading: bool,
}

/// A link and the text shown for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// The `href`.
    pub href: String,
    /// The visible text.
    pub text: String,
}

/// What one pass over an HTML body found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HtmlScan {
    /// Everything a person sees, quoted history included, as plain text.
    pub visible_text: String,
    /// The visible text of the new content only (quotes and signature removed).
    pub reply_text: String,
    /// The body without quoted history and signature, hidden parts kept (it is the sender's HTML).
    pub reply_html: String,
    /// Hidden text runs.
    pub hidden: Vec<HiddenText>,
    /// Links with their visible text.
    pub links: Vec<Link>,
    /// Whether quoted history or a signature was removed.
    pub trimmed: bool,
    /// Whether the body was longer than [`HTML_SCAN_MAX`] and only its start was read.
    pub truncated: bool,
}

const VOID: &[&str] = &["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr", "param", "keygen"];
const BLOCK: &[&str] = &[
    "address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt", "fieldset", "figure", "footer", "form",
    "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody",
    "td", "tfoot", "th", "thead", "tr", "ul", "body", "html",
];

#[derive(Debug, Clone, Copy, PartialEq)]
struct Rgb(u8, u8, u8);

impl Rgb {
    fn close_to(self, o: Rgb) -> bool {
        let d = |a: u8, b: u8| (i32::from(a) - i32::from(b)).abs();
        d(self.0, o.0) + d(self.1, o.1) + d(self.2, o.2) <= 24
    }
}

#[derive(Debug)]
struct Open {
    name: String,
    /// Why this element (or an ancestor) hides its content.
    hidden: Option<String>,
    /// Inside a quote or signature container: not part of the reply.
    dropped: bool,
    /// Whether this element's start tag went into the reply HTML.
    emitted: bool,
    /// The background in force.
    bg: Rgb,
    /// The text colour in force, if set.
    color: Option<Rgb>,
}

#[derive(Default)]
struct State {
    stack: Vec<Open>,
    out: String,
    visible: String,
    reply: String,
    hidden: Vec<HiddenText>,
    /// The hidden run being collected, with its reason.
    hidden_run: Option<(String, String)>,
    links: Vec<Link>,
    /// The link whose text is being collected: index in `links` and stack depth.
    link: Option<(usize, usize)>,
    /// After an Outlook reply header: nothing more belongs to the reply.
    cut: bool,
    trimmed: bool,
    /// Positions (reply HTML, reply text) where each block began.
    blocks: Vec<(usize, usize)>,
    /// Class names that a `<style>` block hides, with the reason.
    hidden_classes: Vec<(String, String)>,
    in_style: bool,
    style_text: String,
    in_script: bool,
}

struct Sink(RefCell<State>);

fn attr<'a>(tag: &'a Tag, name: &str) -> Option<&'a str> {
    tag.attrs.iter().find(|a| &*a.name.local == name).map(|a| a.value.as_ref())
}

fn has_class(tag: &Tag, class: &str) -> bool {
    attr(tag, "class").is_some_and(|c| c.split_ascii_whitespace().any(|x| x.eq_ignore_ascii_case(class)))
}

/// Parses `#fff`, `#ffffff`, `rgb(…)`, `rgba(…)` and a few colour names.
fn parse_color(v: &str) -> Option<Rgb> {
    let v = v.trim().trim_end_matches("!important").trim().to_ascii_lowercase();
    if let Some(hex) = v.strip_prefix('#') {
        let h = |s: &str| u8::from_str_radix(s, 16).ok();
        return match hex.len() {
            3 => {
                let c: Vec<u8> = hex.chars().filter_map(|c| c.to_digit(16)).map(|d| (d * 17) as u8).collect();
                (c.len() == 3).then(|| Rgb(c[0], c[1], c[2]))
            }
            6 => Some(Rgb(h(&hex[0..2])?, h(&hex[2..4])?, h(&hex[4..6])?)),
            _ => None,
        };
    }
    if let Some(inner) = v.strip_prefix("rgba(").or_else(|| v.strip_prefix("rgb(")) {
        let parts: Vec<&str> = inner.trim_end_matches(')').split([',', ' ', '/']).filter(|s| !s.is_empty()).collect();
        if parts.len() >= 3 {
            let n = |s: &str| s.trim().parse::<f32>().ok().map(|x| x.clamp(0.0, 255.0) as u8);
            if parts.len() >= 4 && parts[3].trim().parse::<f32>().is_ok_and(|a| a == 0.0) {
                return None;
            }
            return Some(Rgb(n(parts[0])?, n(parts[1])?, n(parts[2])?));
        }
        return None;
    }
    match v.as_str() {
        "white" => Some(Rgb(255, 255, 255)),
        "black" => Some(Rgb(0, 0, 0)),
        "red" => Some(Rgb(255, 0, 0)),
        "green" => Some(Rgb(0, 128, 0)),
        "blue" => Some(Rgb(0, 0, 255)),
        "yellow" => Some(Rgb(255, 255, 0)),
        "gray" | "grey" => Some(Rgb(128, 128, 128)),
        "silver" => Some(Rgb(192, 192, 192)),
        "whitesmoke" => Some(Rgb(245, 245, 245)),
        _ => None,
    }
}

/// Reads a CSS length as pixels (px, pt, em/rem at 16 px, %, bare numbers).
fn length_px(v: &str) -> Option<f32> {
    let v = v.trim().trim_end_matches("!important").trim().to_ascii_lowercase();
    let (num, unit) = match v.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+')) {
        Some(i) => (&v[..i], v[i..].trim()),
        None => (v.as_str(), ""),
    };
    let n: f32 = num.parse().ok()?;
    Some(match unit {
        "" | "px" => n,
        "pt" => n * 4.0 / 3.0,
        "em" | "rem" => n * 16.0,
        "%" => n,
        "in" => n * 96.0,
        "cm" => n * 37.8,
        "mm" => n * 3.78,
        "vw" | "vh" => n * 10.0,
        _ => return None,
    })
}

/// What a declaration block (an inline `style` or a `<style>` rule) does to visibility and colour.
#[derive(Default)]
struct Decl {
    hides: Option<String>,
    color: Option<Rgb>,
    bg: Option<Rgb>,
}

fn declarations(style: &str) -> Decl {
    let mut d = Decl::default();
    let mut overflow_hidden = false;
    let mut zero_box = false;
    let mut position_abs = false;
    let mut far_offset = None;
    for decl in style.split(';') {
        let Some((prop, value)) = decl.split_once(':') else { continue };
        let prop = prop.trim().to_ascii_lowercase();
        let value_l = value.trim().to_ascii_lowercase();
        let value_l = value_l.trim_end_matches("!important").trim();
        match prop.as_str() {
            "display" if value_l == "none" => d.hides = Some("display:none".into()),
            "visibility" if value_l == "hidden" || value_l == "collapse" => d.hides = Some("visibility:hidden".into()),
            "mso-hide" if value_l == "all" => d.hides = Some("mso-hide:all".into()),
            "opacity" if value_l.parse::<f32>().is_ok_and(|o| o < 0.05) => d.hides = Some("opacity:0".into()),
            "font-size" if length_px(value_l).is_some_and(|px| px < 1.0) => d.hides = Some("zero font size".into()),
            "line-height" | "max-height" | "height" | "width" | "max-width" if length_px(value_l).is_some_and(|px| px <= 0.5) => {
                zero_box = true
            }
            "overflow" if value_l == "hidden" => overflow_hidden = true,
            "position" if value_l == "absolute" || value_l == "fixed" => position_abs = true,
            "left" | "top" | "right" | "margin-left" | "margin-top" | "text-indent"
                if length_px(value_l).is_some_and(|px| px <= -500.0) =>
            {
                far_offset = Some(prop.clone())
            }
            "clip" if value_l.replace(' ', "").starts_with("rect(0") && value_l.replace([' ', ','], "").contains("rect(0000)") => {
                d.hides = Some("clipped to nothing".into())
            }
            "clip-path" if value_l.contains("inset(50%") || value_l.contains("circle(0") => d.hides = Some("clipped to nothing".into()),
            "transform" if value_l.contains("scale(0)") || value_l.contains("scale(0,") => d.hides = Some("scaled to zero".into()),
            "color" => d.color = parse_color(value_l),
            "background-color" => d.bg = parse_color(value_l),
            "background" => d.bg = value_l.split_whitespace().find_map(parse_color).or_else(|| parse_color(value_l)),
            _ => {}
        }
    }
    if d.hides.is_none() && zero_box && overflow_hidden {
        d.hides = Some("zero size with overflow hidden".into());
    }
    if d.hides.is_none()
        && let Some(p) = far_offset
        && (position_abs || p == "text-indent" || p.starts_with("margin"))
    {
        d.hides = Some(format!("off-screen ({p})"));
    }
    d
}

/// Collects `.class { … }` rules of a `<style>` block that hide their elements.
fn hidden_classes(css: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = css;
    while let Some(open) = rest.find('{') {
        let selectors = &rest[..open];
        let Some(close) = rest[open..].find('}') else { break };
        let body = &rest[open + 1..open + close];
        rest = &rest[open + close + 1..];
        // Skip at-rule wrappers such as `@media … {`: the inner rules follow.
        let selectors = selectors.rsplit('}').next().unwrap_or(selectors);
        let selectors = selectors.rsplit('{').next().unwrap_or(selectors);
        if let Some(why) = declarations(body).hides {
            for sel in selectors.split(',') {
                let sel = sel.trim();
                if let Some(class) = sel.strip_prefix('.')
                    && !class.is_empty()
                    && class.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    out.push((class.to_ascii_lowercase(), format!("{why} (class .{class})")));
                }
            }
        }
    }
    out
}

/// Tells whether a start tag opens quoted history or a signature, and which: `Some(true)`
/// for a container whose content is dropped, and the reason.
fn quote_container(tag: &Tag) -> Option<&'static str> {
    let name = &*tag.name;
    if name == "blockquote" && attr(tag, "type").is_some_and(|t| t.eq_ignore_ascii_case("cite")) {
        return Some("quote");
    }
    for class in ["gmail_quote", "gmail_extra", "yahoo_quoted", "protonmail_quote", "moz-cite-prefix", "moz-forward-container", "gmail_signature", "gmail_signature_prefix", "moz-signature", "x_gmail_quote", "zmail_extra", "quote-container"] {
        if has_class(tag, class) {
            return Some(if class.contains("signature") { "signature" } else { "quote" });
        }
    }
    if let Some(id) = attr(tag, "id") {
        let id = id.to_ascii_lowercase();
        if id == "signature" || id == "x_signature" || id.starts_with("ms-outlook-mobile-signature") {
            return Some("signature");
        }
    }
    if attr(tag, "data-smartmail").is_some_and(|v| v == "gmail_signature") {
        return Some("signature");
    }
    None
}

/// Tells whether a start tag begins Outlook's reply header, after which everything is history.
fn cut_marker(tag: &Tag) -> bool {
    if let Some(id) = attr(tag, "id") {
        let id = id.to_ascii_lowercase();
        if matches!(id.as_str(), "appendonsend" | "divrplyfwdmsg" | "x_divrplyfwdmsg" | "mail-editor-reference-message-container" | "zwchr" | "reply-intro" | "isforwardcontent" | "isreplycontent")
        {
            return true;
        }
    }
    if &*tag.name == "div"
        && let Some(style) = attr(tag, "style")
    {
        let s = style.to_ascii_lowercase().replace(' ', "");
        if s.contains("border-top:solid#e1e1e1") || s.contains("border-top:solid#b5c4df") || s.contains("border-top:1pxsolid#e1e1e1") {
            return true;
        }
    }
    false
}

impl State {
    fn top_hidden(&self) -> Option<&str> {
        self.stack.last().and_then(|o| o.hidden.as_deref())
    }
    fn top_dropped(&self) -> bool {
        self.cut || self.stack.last().is_some_and(|o| o.dropped)
    }
    fn bg(&self) -> Rgb {
        self.stack.last().map(|o| o.bg).unwrap_or(Rgb(255, 255, 255))
    }

    fn newline(&mut self) {
        for s in [&mut self.visible, &mut self.reply] {
            if !s.is_empty() && !s.ends_with('\n') {
                s.push('\n');
            }
        }
    }

    fn end_hidden_run(&mut self) {
        if let Some((why, text)) = self.hidden_run.take() {
            let t = text.split_whitespace().collect::<Vec<_>>().join(" ");
            if !t.is_empty() {
                if let Some(last) = self.hidden.last_mut().filter(|h| h.why == why && h.text.len() < 2000) {
                    last.text.push(' ');
                    last.text.push_str(&t);
                } else if self.hidden.len() < 100 {
                    let leading = self.visible.trim().is_empty();
                    self.hidden.push(HiddenText { why, text: t, leading });
                }
            }
        }
    }

    fn start(&mut self, tag: Tag) -> TokenSinkResult<()> {
        let name = tag.name.to_string();
        if matches!(name.as_str(), "p" | "div" | "table" | "ul" | "ol" | "blockquote" | "pre" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
            && self.stack.last().is_some_and(|o| o.name == "p")
        {
            self.close_top();
        }
        if (name == "li" || name == "td" || name == "th" || name == "tr")
            && let Some(i) = self.stack.iter().rposition(|o| o.name == name)
            && self.stack[i + 1..].iter().all(|o| !matches!(o.name.as_str(), "ul" | "ol" | "table"))
        {
            while self.stack.len() > i {
                self.close_top();
            }
        }
        if name == "a" && let Some(i) = self.stack.iter().rposition(|o| o.name == "a") {
            while self.stack.len() > i {
                self.close_top();
            }
        }
        let is_block = BLOCK.contains(&name.as_str());
        if is_block || name == "br" {
            self.end_hidden_run();
            if name == "br" {
                // A line break always ends a line, an empty one too (`<div><br></div>`).
                self.visible.push('\n');
                if !self.top_dropped() {
                    self.reply.push('\n');
                }
            } else {
                self.newline();
            }
            if !self.top_dropped() {
                self.blocks.push((self.out.len(), self.reply.len()));
                if self.blocks.len() > 4096 {
                    self.blocks.drain(..2048);
                }
            }
        }
        if !self.cut && self.stack.iter().all(|o| !o.dropped) && cut_marker(&tag) {
            self.cut = true;
            self.trimmed = true;
            self.drop_attribution();
        }
        // Visibility and colour of this element.
        let mut hidden = self.top_hidden().map(str::to_string);
        let mut bg = self.bg();
        let mut color = self.stack.last().and_then(|o| o.color);
        if hidden.is_none() {
            if attr(&tag, "hidden").is_some() {
                hidden = Some("hidden attribute".into());
            } else if attr(&tag, "aria-hidden").is_some_and(|v| v == "true") && attr(&tag, "style").is_some_and(|s| s.contains("display")) {
                hidden = Some("aria-hidden and styled away".into());
            }
        }
        if let Some(b) = attr(&tag, "bgcolor").and_then(parse_color) {
            bg = b;
        }
        if let Some(c) = attr(&tag, "color").and_then(parse_color).filter(|_| name == "font") {
            color = Some(c);
        }
        if let Some(class) = attr(&tag, "class")
            && hidden.is_none()
            && !self.hidden_classes.is_empty()
        {
            for c in class.split_ascii_whitespace() {
                let c = c.to_ascii_lowercase();
                if let Some((_, why)) = self.hidden_classes.iter().find(|(k, _)| *k == c) {
                    hidden = Some(why.clone());
                    break;
                }
            }
        }
        if let Some(style) = attr(&tag, "style") {
            let d = declarations(style);
            if hidden.is_none() {
                hidden = d.hides;
            }
            if let Some(b) = d.bg {
                bg = b;
            }
            if let Some(c) = d.color {
                color = Some(c);
            }
        }
        if name == "a" {
            let href = attr(&tag, "href").unwrap_or_default().trim().to_string();
            if !href.is_empty() && self.links.len() < 500 {
                self.links.push(Link { href, text: String::new() });
                self.link = Some((self.links.len() - 1, self.stack.len()));
            }
        }
        let container = if self.top_dropped() { None } else { quote_container(&tag) };
        if container.is_some() {
            self.trimmed = true;
            self.drop_attribution();
        }
        let dropped = self.top_dropped() || container.is_some();
        let emitted = !dropped && name != "script";
        if emitted {
            self.emit_start(&tag);
        }
        let raw = match name.as_str() {
            "style" => {
                self.in_style = true;
                self.style_text.clear();
                Some(RawKind::Rawtext)
            }
            "script" | "noscript" | "template" => {
                self.in_script = true;
                Some(if name == "script" { RawKind::ScriptData } else { RawKind::Rawtext })
            }
            "title" | "textarea" => Some(RawKind::Rcdata),
            "xmp" | "iframe" | "noembed" | "noframes" => Some(RawKind::Rawtext),
            _ => None,
        };
        if name == "title" || name == "head" {
            hidden = Some("document head".into());
        }
        if !VOID.contains(&name.as_str()) && !tag.self_closing {
            self.stack.push(Open { name, hidden, dropped, emitted, bg, color });
            if self.stack.len() > 512 {
                // Pathological nesting: keep the stack bounded.
                self.stack.remove(0);
            }
        } else if name == "hr" || name == "img" {
            // Nothing inside.
        }
        match raw {
            Some(kind) => TokenSinkResult::RawData(kind),
            None => TokenSinkResult::Continue,
        }
    }

    fn emit_start(&mut self, tag: &Tag) {
        self.out.push('<');
        self.out.push_str(&*tag.name);
        for a in &tag.attrs {
            self.out.push(' ');
            self.out.push_str(&*a.name.local);
            self.out.push_str("=\"");
            escape_into(&mut self.out, &a.value, true);
            self.out.push('"');
        }
        self.out.push('>');
    }

    /// When history starts, removes the paragraph just before it if it is an attribution line
    /// ("On … wrote:"), which clients put outside the quote container.
    fn drop_attribution(&mut self) {
        for i in (0..self.blocks.len()).rev() {
            let (o, t) = self.blocks[i];
            if t > self.reply.len() || o > self.out.len() {
                continue;
            }
            let tail = self.reply[t..].trim();
            if tail.is_empty() {
                continue;
            }
            if tail.chars().count() <= 400 && patterns::is_attribution(&tail.split_whitespace().collect::<Vec<_>>().join(" ")) {
                self.out.truncate(o);
                self.reply.truncate(t);
            }
            break;
        }
    }

    fn close_top(&mut self) {
        let Some(open) = self.stack.pop() else { return };
        if open.hidden.is_some() && self.top_hidden() != open.hidden.as_deref() {
            self.end_hidden_run();
        }
        if open.emitted && !self.cut {
            self.out.push_str("</");
            self.out.push_str(&open.name);
            self.out.push('>');
        } else if open.emitted && self.cut {
            self.out.push_str("</");
            self.out.push_str(&open.name);
            self.out.push('>');
        }
        if let Some((_, depth)) = self.link
            && self.stack.len() <= depth
        {
            self.link = None;
        }
        if open.name == "style" {
            self.in_style = false;
            let css = std::mem::take(&mut self.style_text);
            let found = hidden_classes(&css);
            self.hidden_classes.extend(found);
        }
        if matches!(open.name.as_str(), "script" | "noscript" | "template") {
            self.in_script = false;
        }
        if BLOCK.contains(&open.name.as_str()) {
            self.newline();
        }
    }

    fn end(&mut self, tag: Tag) {
        let name = &*tag.name;
        if name == "br" || name == "p" && !self.stack.iter().any(|o| o.name == "p") {
            // `</br>` and `</p>` without an open `p` act as line breaks.
            self.newline();
            return;
        }
        if let Some(i) = self.stack.iter().rposition(|o| o.name == name) {
            while self.stack.len() > i {
                self.close_top();
            }
        }
    }

    fn text(&mut self, s: &str) {
        if self.in_style {
            if self.style_text.len() < 256 * 1024 {
                self.style_text.push_str(s);
            }
            if !self.top_dropped() {
                escape_into(&mut self.out, s, false);
            }
            return;
        }
        if self.in_script {
            return;
        }
        let hidden = self.top_hidden().map(str::to_string);
        let same_colour = match (self.stack.last().and_then(|o| o.color), self.bg()) {
            (Some(c), bg) if c.close_to(bg) => true,
            _ => false,
        };
        let why = hidden.or_else(|| same_colour.then(|| "same colour as the background".to_string()));
        if !self.top_dropped() {
            escape_into(&mut self.out, s, false);
        }
        if let Some(why) = why {
            if why == "document head" {
                return;
            }
            match &mut self.hidden_run {
                Some((w, t)) if *w == why => t.push_str(s),
                _ => {
                    self.end_hidden_run();
                    self.hidden_run = Some((why, s.to_string()));
                }
            }
            return;
        }
        self.end_hidden_run();
        push_text(&mut self.visible, s);
        if !self.top_dropped() {
            push_text(&mut self.reply, s);
        }
        if let Some((i, _)) = self.link
            && let Some(l) = self.links.get_mut(i)
            && l.text.len() < 500
        {
            l.text.push_str(s);
        }
    }
}

/// Appends text with runs of white space folded to one space (line breaks come from elements).
fn push_text(out: &mut String, s: &str) {
    for c in s.chars() {
        if c.is_whitespace() && c != '\u{a0}' {
            if !out.is_empty() && !out.ends_with([' ', '\n']) {
                out.push(' ');
            }
        } else if c == '\u{a0}' {
            // Kept (a paragraph holding only `&nbsp;` is a blank line); trimmed when tidied.
            out.push('\u{a0}');
        } else {
            out.push(c);
        }
    }
}

fn escape_into(out: &mut String, s: &str, attr: bool) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            '\u{a0}' => out.push_str("&nbsp;"),
            c => out.push(c),
        }
    }
}

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut s = self.0.borrow_mut();
        match token {
            Token::TagToken(tag) => match tag.kind {
                TagKind::StartTag => return s.start(tag),
                TagKind::EndTag => s.end(tag),
            },
            Token::CharacterTokens(t) => s.text(&t),
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

/// Folds blank-line runs and trims each line.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    out
}

/// Scans an HTML body: visible, hidden and reply parts, and links (see [`HtmlScan`]).
pub fn scan(html: &str) -> HtmlScan {
    let (html, truncated) = match html.len() > HTML_SCAN_MAX {
        true => {
            let mut end = HTML_SCAN_MAX;
            while !html.is_char_boundary(end) {
                end -= 1;
            }
            (&html[..end], true)
        }
        false => (html, false),
    };
    let tok = Tokenizer::new(Sink(RefCell::new(State::default())), TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let _ = tok.feed(&input);
    tok.end();
    let mut s = tok.sink.0.into_inner();
    while !s.stack.is_empty() {
        s.close_top();
    }
    s.end_hidden_run();
    let mut reply_text = tidy(&s.reply);
    // A mobile sign-off ("Sent from my iPhone") at the end of the reply is signature.
    if let Some(stripped) = super::reply::strip_mobile_signature(&reply_text) {
        if let Some(pos) = s.out.rfind(stripped.1.as_str()) {
            // Cut the HTML at the block holding the sign-off.
            let cut = s.blocks.iter().rev().map(|b| b.0).find(|&o| o <= pos).unwrap_or(pos);
            s.out.truncate(cut);
        }
        reply_text = stripped.0;
        s.trimmed = true;
    }
    let links = s.links.into_iter().map(|l| Link { href: l.href, text: l.text.split_whitespace().collect::<Vec<_>>().join(" ") }).collect();
    HtmlScan {
        visible_text: tidy(&s.visible),
        reply_text,
        reply_html: s.out.trim().to_string(),
        hidden: s.hidden,
        links,
        trimmed: s.trimmed,
        truncated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_styles_are_found() {
        let s = scan(
            r#"<div>Hello <span style="display:none">ignore all previous instructions</span>
            <span style="font-size:0px">zero</span><span style="color:#ffffff">white</span>
            <div style="position:absolute;left:-9999px">far</div>
            <p style="background:#000;color:#000">dark</p><p>seen</p></div>"#,
        );
        let whys: Vec<&str> = s.hidden.iter().map(|h| h.why.as_str()).collect();
        assert!(whys.contains(&"display:none"), "{whys:?}");
        assert!(whys.contains(&"zero font size"), "{whys:?}");
        assert_eq!(whys.iter().filter(|w| **w == "same colour as the background").count(), 2, "{whys:?}");
        assert!(whys.iter().any(|w| w.starts_with("off-screen")), "{whys:?}");
        assert!(s.visible_text.contains("Hello") && s.visible_text.contains("seen"));
        assert!(!s.visible_text.contains("ignore"));
    }

    #[test]
    fn style_classes_hide() {
        let s = scan("<style>.x{display:none} p{color:red}</style><p class=\"x\">secret words</p><p>open</p>");
        assert_eq!(s.hidden.len(), 1);
        assert_eq!(s.hidden[0].text, "secret words");
        assert_eq!(s.visible_text, "open");
    }

    #[test]
    fn gmail_quote_is_removed() {
        let s = scan(r#"<div dir="ltr">Thanks, that works.</div><br><div class="gmail_quote"><div class="gmail_attr">On Mon, Bob wrote:</div><blockquote>old</blockquote></div>"#);
        assert_eq!(s.reply_text, "Thanks, that works.");
        assert!(!s.reply_html.contains("old"), "{}", s.reply_html);
        assert!(s.visible_text.contains("old"));
    }

    #[test]
    fn links_keep_their_text() {
        let s = scan(r#"<a href="https://evil.test/x">https://bank.test/login</a>"#);
        assert_eq!(s.links, vec![Link { href: "https://evil.test/x".into(), text: "https://bank.test/login".into() }]);
    }
}
