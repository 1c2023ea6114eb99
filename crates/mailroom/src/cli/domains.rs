//! `mailroom domains …`: hosted domains, their DKIM keys and the DNS records to publish.

use super::table::{Table, clip, fields, time, time_utc};
use super::{Ctx, Usage, note, out};
use mailroom_core::api::{CreateDomainRequest, DnsRecord, DomainDns};
use mailroom_core::ids::{DomainId, SiteId};
use mailroom_core::model::Domain;

/// The TTL written on zone-file lines: an hour, short enough to fix a mistake the same day.
const ZONE_TTL: u32 = 3600;

/// The longest character-string a TXT record may hold; longer values are split into several
/// strings that receivers join back together (RFC 7208 §3.3, RFC 6376 §3.6.2.2).
const TXT_STRING_MAX: usize = 255;

/// `mailroom domains <verb>`.
#[derive(Debug, clap::Subcommand)]
pub enum DomainsCommand {
    /// Add a hosted domain and generate its DKIM keys (Ed25519 and RSA-2048).
    Add {
        /// The domain name, such as agents.example.com.
        name: String,
        /// Admin key only: the site that owns the domain [default: the default site].
        #[arg(long, value_name = "ID")]
        site_id: Option<SiteId>,
    },
    /// List the hosted domains.
    List,
    /// Show a domain and its DKIM keys.
    Get {
        /// The domain's id.
        id: DomainId,
    },
    /// Print the DNS records to publish for a domain: MX, SPF, DKIM and DMARC.
    Dns {
        /// The domain's id.
        id: DomainId,
        /// Print BIND zone-file lines, ready to paste, instead of a table.
        #[arg(long)]
        zone: bool,
    },
    /// Remove a hosted domain; its mailboxes stay but receive no more mail.
    Delete {
        /// The domain's id.
        id: DomainId,
    },
}

pub(crate) async fn run(ctx: &Ctx, cmd: DomainsCommand) -> anyhow::Result<()> {
    match cmd {
        DomainsCommand::Add { name, site_id } => {
            let domain = ctx.client.create_domain(&CreateDomainRequest { name, site_id }).await?;
            if ctx.json {
                return ctx.print_json(&domain);
            }
            out(&details(&domain))?;
            note(&format!(
                "Added domain {}. Publish its DNS records: `mailroom domains dns {}` (add --zone for zone-file lines).",
                domain.name, domain.id
            ));
            Ok(())
        }
        DomainsCommand::List => {
            let page = ctx.client.list_domains().await?;
            if ctx.json {
                return ctx.print_json(&page);
            }
            if page.items.is_empty() {
                note("No domains added. Add one with `mailroom domains add NAME`.");
                return Ok(());
            }
            out(&table(&page.items).render())
        }
        DomainsCommand::Get { id } => {
            let domain = ctx.client.get_domain(id).await?;
            if ctx.json {
                return ctx.print_json(&domain);
            }
            out(&details(&domain))
        }
        DomainsCommand::Dns { id, zone } => {
            if zone && ctx.json {
                return Err(Usage::new(
                    "--zone and --json cannot be combined",
                    "pass --zone for zone-file lines or --json for the server's answer",
                )
                .into());
            }
            let dns = ctx.client.domain_dns(id).await?;
            if ctx.json {
                return ctx.print_json(&dns);
            }
            if zone {
                return out(&zone_file(&dns));
            }
            out(&dns_table(&dns.records).render())?;
            note(&format!(
                "Publish these records at the DNS host of {}; `--zone` prints them as zone-file lines.",
                dns.domain
            ));
            Ok(())
        }
        DomainsCommand::Delete { id } => {
            ctx.client.delete_domain(id).await?;
            if !ctx.json {
                note(&format!("Deleted domain {id}."));
            }
            Ok(())
        }
    }
}

fn table(domains: &[Domain]) -> Table {
    let mut t = Table::new(["ID", "NAME", "SITE", "DKIM SELECTORS", "CREATED (UTC)"]);
    for d in domains {
        t.row(vec![
            d.id.to_string(),
            d.name.clone(),
            d.site_id.to_string(),
            d.dkim.iter().map(|k| k.selector.as_str()).collect::<Vec<_>>().join(", "),
            time(&d.created_at),
        ]);
    }
    t
}

fn details(d: &Domain) -> String {
    let mut text = fields(&[
        ("id", d.id.to_string()),
        ("name", d.name.clone()),
        ("site", d.site_id.to_string()),
        ("created", time_utc(&d.created_at)),
    ]);
    if !d.dkim.is_empty() {
        let mut t = Table::new(["DKIM SELECTOR", "ALGORITHM", "RECORD", "PUBLIC KEY"]);
        for k in &d.dkim {
            t.row(vec![
                k.selector.clone(),
                k.algorithm.clone(),
                format!("{}._domainkey.{}", k.selector, d.name),
                clip(&k.public_key, 40),
            ]);
        }
        text.push('\n');
        text.push_str(&t.render());
    }
    text
}

/// The records as a table; values are never clipped, so they can be copied.
fn dns_table(records: &[DnsRecord]) -> Table {
    let mut t = Table::new(["TYPE", "NAME", "VALUE"]);
    for r in records {
        t.row(vec![r.record_type.clone(), r.name.clone(), r.value.clone()]);
    }
    t
}

/// Renders the records as BIND zone-file lines, each preceded by a comment saying what it is
/// for: fully qualified owner names, a TTL, and TXT values quoted and split into strings of
/// at most 255 bytes.
fn zone_file(dns: &DomainDns) -> String {
    let owners: Vec<String> = dns.records.iter().map(|r| fqdn(&r.name)).collect();
    let name_width = owners.iter().map(|o| o.len()).max().unwrap_or(0);
    let type_width = dns.records.iter().map(|r| r.record_type.len()).max().unwrap_or(0);
    let mut text = format!("; DNS records for {}, generated by Mailroom.\n", dns.domain);
    for (r, owner) in dns.records.iter().zip(&owners) {
        text.push_str(&format!("; {}\n", r.purpose.split_whitespace().collect::<Vec<_>>().join(" ")));
        let rtype = r.record_type.to_ascii_uppercase();
        let value = match rtype.as_str() {
            "TXT" | "SPF" => txt_strings(&r.value),
            _ => r.value.clone(),
        };
        text.push_str(&format!("{owner:<name_width$}  {ZONE_TTL}  IN  {rtype:<type_width$}  {value}\n"));
    }
    text
}

/// Returns a name with exactly one trailing dot, as zone files need for absolute names.
fn fqdn(name: &str) -> String {
    format!("{}.", name.trim().trim_end_matches('.'))
}

/// Quotes a TXT value as zone-file character-strings: split into pieces of at most 255 bytes
/// (never inside a UTF-8 character), each in double quotes with `"` and `\` escaped, joined
/// by spaces.
fn txt_strings(value: &str) -> String {
    split_txt(value)
        .iter()
        .map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Splits a TXT value into strings of at most [`TXT_STRING_MAX`] bytes; an empty value is one
/// empty string.
fn split_txt(value: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = value;
    while rest.len() > TXT_STRING_MAX {
        let mut cut = TXT_STRING_MAX;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (head, tail) = rest.split_at(cut);
        pieces.push(head);
        rest = tail;
    }
    pieces.push(rest);
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain() -> Domain {
        serde_json::from_value(serde_json::json!({
            "id": "0190f5a0-0000-7000-8000-000000000005",
            "site_id": "0190f5a0-0000-7000-8000-000000000002",
            "name": "agents.example.com",
            "dkim": [
                {"selector": "mailroom-ed25519", "algorithm": "ed25519", "public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="},
                {"selector": "mailroom-rsa", "algorithm": "rsa", "public_key": "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"}
            ],
            "created_at": "2026-01-01T00:00:00Z"
        }))
        .unwrap()
    }

    fn record(rtype: &str, name: &str, value: &str, purpose: &str) -> DnsRecord {
        DnsRecord { record_type: rtype.into(), name: name.into(), value: value.into(), purpose: purpose.into() }
    }

    #[test]
    fn the_list_names_the_selectors() {
        assert_eq!(
            table(&[domain()]).render(),
            "ID                                    NAME                SITE                                  DKIM SELECTORS                  CREATED (UTC)\n\
             0190f5a0-0000-7000-8000-000000000005  agents.example.com  0190f5a0-0000-7000-8000-000000000002  mailroom-ed25519, mailroom-rsa  2026-01-01 00:00:00\n"
        );
    }

    #[test]
    fn details_show_where_each_key_is_published() {
        assert_eq!(
            details(&domain()),
            "id       0190f5a0-0000-7000-8000-000000000005\n\
             name     agents.example.com\n\
             site     0190f5a0-0000-7000-8000-000000000002\n\
             created  2026-01-01 00:00:00 UTC\n\
             \n\
             DKIM SELECTOR     ALGORITHM  RECORD                                          PUBLIC KEY\n\
             mailroom-ed25519  ed25519    mailroom-ed25519._domainkey.agents.example.com  11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPc…\n\
             mailroom-rsa      rsa        mailroom-rsa._domainkey.agents.example.com      MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgK…\n"
        );
    }

    #[test]
    fn the_dns_table_keeps_values_whole() {
        let long = format!("v=DKIM1; k=rsa; p={}", "A".repeat(400));
        let t = dns_table(&[record("TXT", "s._domainkey.x.test", &long, "DKIM")]).render();
        assert!(t.lines().nth(1).unwrap().ends_with(&long), "{t}");
    }

    #[test]
    fn txt_values_split_into_255_byte_strings() {
        assert_eq!(split_txt(""), [""]);
        assert_eq!(split_txt("v=spf1 mx -all"), ["v=spf1 mx -all"]);
        let exact = "a".repeat(255);
        assert_eq!(split_txt(&exact), [exact.as_str()]);
        let long = format!("v=DKIM1; k=rsa; p={}", "B".repeat(392));
        let pieces = split_txt(&long);
        assert_eq!(pieces.iter().map(|p| p.len()).collect::<Vec<_>>(), [255, long.len() - 255]);
        assert_eq!(pieces.concat(), long);
        let long = "x".repeat(600);
        assert_eq!(split_txt(&long).iter().map(|p| p.len()).collect::<Vec<_>>(), [255, 255, 90]);
    }

    #[test]
    fn splitting_never_cuts_a_character() {
        // 254 ASCII bytes then a two-byte character: the character moves to the next string.
        let value = format!("{}é{}", "a".repeat(254), "b".repeat(10));
        let pieces = split_txt(&value);
        assert_eq!(pieces[0].len(), 254);
        assert!(pieces[1].starts_with('é'));
        assert_eq!(pieces.concat(), value);
    }

    #[test]
    fn txt_strings_are_quoted_and_escaped() {
        assert_eq!(txt_strings("v=spf1 mx -all"), r#""v=spf1 mx -all""#);
        assert_eq!(txt_strings(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(txt_strings(&"z".repeat(300)), format!("\"{}\" \"{}\"", "z".repeat(255), "z".repeat(45)));
    }

    #[test]
    fn zone_lines_are_ready_to_paste() {
        let rsa = format!("v=DKIM1; k=rsa; p={}", "C".repeat(392));
        let dns = DomainDns {
            domain: "agents.example.com".into(),
            records: vec![
                record("MX", "agents.example.com", "10 mx.example.net.", "Routes mail for the domain to this server."),
                record("TXT", "agents.example.com.", "v=spf1 mx -all", "SPF: only the MX hosts send."),
                record("TXT", "mailroom-rsa._domainkey.agents.example.com", &rsa, "DKIM public key (rsa)."),
            ],
        };
        let text = zone_file(&dns);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "; DNS records for agents.example.com, generated by Mailroom.");
        assert_eq!(lines[1], "; Routes mail for the domain to this server.");
        assert_eq!(lines[2], "agents.example.com.                          3600  IN  MX   10 mx.example.net.");
        assert_eq!(lines[3], "; SPF: only the MX hosts send.");
        assert_eq!(lines[4], "agents.example.com.                          3600  IN  TXT  \"v=spf1 mx -all\"");
        assert_eq!(lines[5], "; DKIM public key (rsa).");
        let (head, rest) = rsa.split_at(255);
        assert_eq!(
            lines[6],
            format!("mailroom-rsa._domainkey.agents.example.com.  3600  IN  TXT  \"{head}\" \"{rest}\"")
        );
        assert_eq!(lines.len(), 7);
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn owner_names_get_one_trailing_dot() {
        assert_eq!(fqdn("x.test"), "x.test.");
        assert_eq!(fqdn("x.test."), "x.test.");
    }
}
