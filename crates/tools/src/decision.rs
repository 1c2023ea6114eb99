//! Whether an email may be sent: every condition recomputed by Mailroom from what it knows.
//!
//! A model's (or an agent's) analysis is a set of claims. The claims can stop a send — a model
//! that says the agent never promised an email, or that the email is a duplicate, is taken at
//! its word — but they can never cause one the server's own checks forbid: `is_duplicate: false`
//! does not outweigh a duplicate the server found, and `agent_must_send_email: true` does not
//! outweigh a disabled tool, a missing address or an opt-out.

use crate::analysis::Analysis;
use crate::dedupe::{DuplicateHit, DuplicateKind};
use serde::{Deserialize, Serialize};

/// The contact's consent to informational email (seed 001's `email_subscribed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Consent {
    /// `email_subscribed` is `"true"`: send without asking.
    Granted,
    /// `email_subscribed` is `"false"`: ask before sending.
    OptedOut,
    /// Not set (first interaction): proceed.
    Unset,
}

impl Consent {
    /// Returns the consent recorded as `Contact::email_subscribed`.
    pub fn from_subscribed(email_subscribed: Option<bool>) -> Consent {
        match email_subscribed {
            Some(true) => Consent::Granted,
            Some(false) => Consent::OptedOut,
            None => Consent::Unset,
        }
    }
}

/// What the server knows, independently of the analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// The contact has an email address that parses.
    pub email_present_and_valid: bool,
    /// The analysis names a template that is in the tool's allowed templates.
    pub template_allowed: bool,
    /// The duplicate the server's own check found, if any.
    pub server_duplicate: Option<DuplicateHit>,
    /// The tool is enabled for the site.
    pub enabled: bool,
    /// The contact's consent.
    pub consent: Consent,
}

/// The outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionStatus {
    /// Every check passed: send.
    Send,
    /// A check failed: nothing is sent; see the code.
    Skipped,
    /// Everything else passed but the contact opted out: the agent must ask first.
    ConsentRequired,
}

impl DecisionStatus {
    /// Returns the wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionStatus::Send => "send",
            DecisionStatus::Skipped => "skipped",
            DecisionStatus::ConsentRequired => "consent_required",
        }
    }
}

/// Why nothing is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipCode {
    /// The tool is disabled for the site.
    Disabled,
    /// The contact has no valid email address.
    EmailMissing,
    /// The user did not confirm the address and the agent did not promise an email.
    EmailNotConfirmed,
    /// The agent did not explicitly promise to send an email.
    NoAgentPromise,
    /// The content matches no allowed template.
    TemplateNotAllowed,
    /// The same or similar content was already sent (seed 000's code).
    DuplicateEmail,
    /// The analysis decided not to send.
    AgentDeclined,
    /// The contact opted out of informational email.
    UserEmailOptOut,
    /// The contact opted out of one-to-one and marketing email (seed 000's code).
    UserMarketingEmailOptOut,
}

impl SkipCode {
    /// Returns the wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipCode::Disabled => "disabled",
            SkipCode::EmailMissing => "email_missing",
            SkipCode::EmailNotConfirmed => "email_not_confirmed",
            SkipCode::NoAgentPromise => "no_agent_promise",
            SkipCode::TemplateNotAllowed => "template_not_allowed",
            SkipCode::DuplicateEmail => "duplicate_email",
            SkipCode::AgentDeclined => "agent_declined",
            SkipCode::UserEmailOptOut => "user_email_opt_out",
            SkipCode::UserMarketingEmailOptOut => "user_marketing_email_opt_out",
        }
    }
}

/// One condition and its result, as recorded in `ToolRun::checks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// The condition: `enabled`, `consent`, `email_present`, `email_confirmed`, `agent_promise`,
    /// `template_allowed`, `not_duplicate`, `agent_must_send_email`.
    pub name: String,
    /// Whether it holds.
    pub passed: bool,
    /// What was found, as a sentence, including where the analysis and the server disagree.
    pub detail: String,
}

/// The decision and every check behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Whether to send now.
    pub send: bool,
    /// The outcome.
    pub status: DecisionStatus,
    /// Why nothing is sent (the first failing check, in the order of `reasons`), if so.
    pub code: Option<SkipCode>,
    /// With [`DecisionStatus::ConsentRequired`]: the question the agent must ask the user
    /// (English; see [`consent_question`] for other languages).
    pub question: Option<String>,
    /// Every check, in order; all are evaluated, so the record is complete.
    pub reasons: Vec<Check>,
}

/// Returns the question an agent asks a user who opted out, in `lang` (`en` by default, `es`).
pub fn consent_question(lang: &str) -> String {
    match lang.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase().as_str() {
        "es" => "Anteriormente pidió no recibir correos electrónicos nuestros. ¿Me permite enviarle este correo con \
                 la información?"
            .into(),
        _ => {
            "You previously asked not to receive emails from us. May I send you this email with the information?".into()
        }
    }
}

fn check(name: &str, passed: bool, detail: impl Into<String>) -> Check {
    Check { name: name.into(), passed, detail: detail.into() }
}

fn claimed(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// Decides whether to send an informational email (seed 001), recomputing every condition:
///
/// 1. `enabled` — the tool is enabled (server);
/// 2. `consent` — the contact has not opted out (server);
/// 3. `email_present` — the contact has a valid address (server; the analysis's
///    `user_email_presence` is recorded, not trusted);
/// 4. `email_confirmed` — the user confirmed the address, or the agent promised to send
///    (analysis, as seed 001 words it);
/// 5. `agent_promise` — the agent explicitly promised to send (analysis);
/// 6. `template_allowed` — the template is allowed (server) and the analysis says the content
///    may be sent;
/// 7. `not_duplicate` — neither the server's check nor the analysis found a duplicate;
/// 8. `agent_must_send_email` — the analysis's final decision is to send.
///
/// A disabled tool is skipped with `disabled`. When only consent fails, the status is
/// `consent_required` with the question to ask; when consent and something else fail, the email
/// would not be sent anyway, so the other failure is reported and the user is not asked.
pub fn recompute(analysis: &Analysis, facts: &Facts) -> Decision {
    let mut reasons = Vec::with_capacity(8);
    let mut failures: Vec<SkipCode> = Vec::new();
    let mut add = |c: Check, code: SkipCode| {
        if !c.passed {
            failures.push(code);
        }
        reasons.push(c);
    };

    add(
        check(
            "enabled",
            facts.enabled,
            if facts.enabled {
                "Informational email is enabled for the site."
            } else {
                "Informational email is disabled for the site (the tool's `enabled` setting)."
            },
        ),
        SkipCode::Disabled,
    );
    add(
        check(
            "consent",
            facts.consent != Consent::OptedOut,
            match facts.consent {
                Consent::Granted => "The contact consented to emails (email_subscribed is true).",
                Consent::Unset => "The contact has not opted out (email_subscribed is not set).",
                Consent::OptedOut => "The contact opted out (email_subscribed is false): ask before sending.",
            },
        ),
        SkipCode::UserEmailOptOut,
    );
    add(
        check(
            "email_present",
            facts.email_present_and_valid,
            format!(
                "{} (the analysis claimed user_email_presence: {}).",
                if facts.email_present_and_valid {
                    "The contact has a valid email address"
                } else {
                    "The contact has no valid email address"
                },
                claimed(analysis.user_email_presence)
            ),
        ),
        SkipCode::EmailMissing,
    );
    let confirmed = analysis.user_correctness_agreement || analysis.convo_agent_promise;
    add(
        check(
            "email_confirmed",
            confirmed,
            format!(
                "{} (user_correctness_agreement: {}, convo_agent_promise: {}).",
                if confirmed {
                    "The address was confirmed or the agent promised to send"
                } else {
                    "The user did not confirm the address and the agent did not promise to send"
                },
                claimed(analysis.user_correctness_agreement),
                claimed(analysis.convo_agent_promise)
            ),
        ),
        SkipCode::EmailNotConfirmed,
    );
    add(
        check(
            "agent_promise",
            analysis.convo_agent_promise,
            if analysis.convo_agent_promise {
                "The agent explicitly promised to send an email."
            } else {
                "The agent did not explicitly promise to send an email."
            },
        ),
        SkipCode::NoAgentPromise,
    );
    let template_name = analysis.template.as_deref().unwrap_or("none");
    let allowed = facts.template_allowed && analysis.information_is_allowed_to_be_sent;
    add(
        check(
            "template_allowed",
            allowed,
            match (facts.template_allowed, analysis.information_is_allowed_to_be_sent) {
                (true, true) => format!("The content matches the allowed template `{template_name}`."),
                (true, false) => format!(
                    "The template `{template_name}` is allowed, but the analysis says the information may not be sent."
                ),
                (false, claim) => format!(
                    "The template `{template_name}` is not an allowed template (the analysis claimed \
                     information_is_allowed_to_be_sent: {}).",
                    claimed(claim)
                ),
            },
        ),
        SkipCode::TemplateNotAllowed,
    );
    let not_duplicate = facts.server_duplicate.is_none() && !analysis.is_duplicate;
    add(
        check(
            "not_duplicate",
            not_duplicate,
            match (&facts.server_duplicate, analysis.is_duplicate) {
                (None, false) => "No similar email was sent earlier.".to_string(),
                (None, true) => "The analysis says similar content was already sent in the conversation.".to_string(),
                (Some(hit), claim) => format!(
                    "{} of the email {} sent earlier{} (the analysis claimed is_duplicate: {}).",
                    match hit.kind {
                        DuplicateKind::Exact => "An exact duplicate".to_string(),
                        DuplicateKind::Near => "A near duplicate".to_string(),
                    },
                    hit.sent_email_id,
                    match hit.kind {
                        DuplicateKind::Exact => String::new(),
                        DuplicateKind::Near => format!(", {} bits apart", hit.distance),
                    },
                    claimed(claim)
                ),
            },
        ),
        SkipCode::DuplicateEmail,
    );
    add(
        check(
            "agent_must_send_email",
            analysis.agent_must_send_email,
            if analysis.agent_must_send_email {
                "The analysis decided the email must be sent."
            } else {
                "The analysis decided the email must not be sent."
            },
        ),
        SkipCode::AgentDeclined,
    );

    let (status, code) = if !facts.enabled {
        (DecisionStatus::Skipped, Some(SkipCode::Disabled))
    } else if let Some(code) = failures.iter().copied().find(|c| *c != SkipCode::UserEmailOptOut) {
        (DecisionStatus::Skipped, Some(code))
    } else if failures.is_empty() {
        (DecisionStatus::Send, None)
    } else {
        (DecisionStatus::ConsentRequired, Some(SkipCode::UserEmailOptOut))
    };
    Decision {
        send: status == DecisionStatus::Send,
        status,
        code,
        question: (status == DecisionStatus::ConsentRequired).then(|| consent_question("en")),
        reasons,
    }
}

/// Decides whether to send a one-to-one email (seed 000) or a direct email: skipped with
/// `user_marketing_email_opt_out` when the contact opted out of outreach, with `duplicate_email`
/// when the server found a duplicate; sent otherwise. `marketing_opt_out` is `None` when the
/// recipient is not a known contact (seed 002's `send_email` to a bare address).
pub fn decide_direct(marketing_opt_out: Option<bool>, duplicate: Option<DuplicateHit>) -> Decision {
    let opted_out = marketing_opt_out == Some(true);
    let reasons = vec![
        check(
            "marketing_consent",
            !opted_out,
            match marketing_opt_out {
                Some(true) => "The contact opted out of one-to-one and marketing email.",
                Some(false) => "The contact has not opted out of one-to-one email.",
                None => "The recipient is not a known contact; no opt-out is recorded.",
            },
        ),
        check(
            "not_duplicate",
            duplicate.is_none(),
            match duplicate {
                None => "No similar email was sent earlier.".to_string(),
                Some(hit) => format!(
                    "The email {} sent earlier is {} duplicate ({} bits apart).",
                    hit.sent_email_id,
                    if hit.kind == DuplicateKind::Exact { "an exact" } else { "a near" },
                    hit.distance
                ),
            },
        ),
    ];
    let code = if opted_out {
        Some(SkipCode::UserMarketingEmailOptOut)
    } else if duplicate.is_some() {
        Some(SkipCode::DuplicateEmail)
    } else {
        None
    };
    Decision {
        send: code.is_none(),
        status: if code.is_none() { DecisionStatus::Send } else { DecisionStatus::Skipped },
        code,
        question: None,
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mailroom_core::SentEmailId;
    use serde_json::Map;

    fn analysis() -> Analysis {
        Analysis {
            user_email_presence: true,
            user_correctness_agreement: true,
            convo_agent_promise: true,
            email_subject: "Your appointment".into(),
            email_body: "<p>Confirmed.</p>".into(),
            is_duplicate: false,
            information_is_allowed_to_be_sent: true,
            agent_must_send_email: true,
            template: Some("appointment_confirmation".into()),
            placeholders: Map::new(),
        }
    }

    fn facts() -> Facts {
        Facts {
            email_present_and_valid: true,
            template_allowed: true,
            server_duplicate: None,
            enabled: true,
            consent: Consent::Unset,
        }
    }

    fn hit(kind: DuplicateKind) -> DuplicateHit {
        DuplicateHit {
            sent_email_id: SentEmailId::new(),
            kind,
            distance: if kind == DuplicateKind::Exact { 0 } else { 2 },
        }
    }

    fn failed(d: &Decision) -> Vec<&str> {
        d.reasons.iter().filter(|c| !c.passed).map(|c| c.name.as_str()).collect()
    }

    fn skipped(d: &Decision, code: SkipCode) {
        assert!(!d.send, "{d:#?}");
        assert_eq!((d.status, d.code), (DecisionStatus::Skipped, Some(code)), "{d:#?}");
        assert_eq!(d.question, None);
    }

    #[test]
    fn everything_passing_sends() {
        for consent in [Consent::Unset, Consent::Granted] {
            let d = recompute(&analysis(), &Facts { consent, ..facts() });
            assert!(d.send);
            assert_eq!((d.status, d.code, d.question.clone()), (DecisionStatus::Send, None, None));
            assert_eq!(
                d.reasons.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
                [
                    "enabled",
                    "consent",
                    "email_present",
                    "email_confirmed",
                    "agent_promise",
                    "template_allowed",
                    "not_duplicate",
                    "agent_must_send_email"
                ]
            );
            assert!(d.reasons.iter().all(|c| c.passed));
        }
    }

    #[test]
    fn disabled_wins_over_everything() {
        let a = Analysis { agent_must_send_email: false, ..analysis() };
        let d = recompute(&a, &Facts { enabled: false, consent: Consent::OptedOut, ..facts() });
        skipped(&d, SkipCode::Disabled);
        assert_eq!(failed(&d), ["enabled", "consent", "agent_must_send_email"], "every check is still recorded");
    }

    #[test]
    fn opted_out_asks_for_consent() {
        let d = recompute(&analysis(), &Facts { consent: Consent::OptedOut, ..facts() });
        assert!(!d.send);
        assert_eq!((d.status, d.code), (DecisionStatus::ConsentRequired, Some(SkipCode::UserEmailOptOut)));
        assert_eq!(d.question.as_deref(), Some(consent_question("en").as_str()));
        assert_eq!(failed(&d), ["consent"]);
        assert_eq!(serde_json::to_value(d.status).unwrap(), "consent_required");
    }

    #[test]
    fn opted_out_and_another_failure_does_not_ask() {
        let a = Analysis { convo_agent_promise: false, ..analysis() };
        let d = recompute(&a, &Facts { consent: Consent::OptedOut, ..facts() });
        skipped(&d, SkipCode::NoAgentPromise);
    }

    #[test]
    fn no_valid_address_is_skipped_whatever_the_model_claims() {
        let d = recompute(&analysis(), &Facts { email_present_and_valid: false, ..facts() });
        skipped(&d, SkipCode::EmailMissing);
        assert!(d.reasons[2].detail.contains("claimed user_email_presence: true"));
        // The model's false claim alone does not block: the server knows the address.
        let a = Analysis { user_email_presence: false, ..analysis() };
        assert!(recompute(&a, &facts()).send);
    }

    #[test]
    fn confirmation_or_promise() {
        let a = Analysis { user_correctness_agreement: false, ..analysis() };
        assert!(recompute(&a, &facts()).send, "a promise stands in for confirmation (seed 001)");
        let a = Analysis { user_correctness_agreement: false, convo_agent_promise: false, ..analysis() };
        let d = recompute(&a, &facts());
        skipped(&d, SkipCode::EmailNotConfirmed);
        assert_eq!(failed(&d), ["email_confirmed", "agent_promise"]);
    }

    #[test]
    fn no_promise_is_skipped() {
        let a = Analysis { convo_agent_promise: false, ..analysis() };
        let d = recompute(&a, &facts());
        skipped(&d, SkipCode::NoAgentPromise);
        assert_eq!(failed(&d), ["agent_promise"]);
    }

    #[test]
    fn template_must_be_allowed_by_both() {
        let d = recompute(&analysis(), &Facts { template_allowed: false, ..facts() });
        skipped(&d, SkipCode::TemplateNotAllowed);
        assert!(d.reasons[5].detail.contains("not an allowed template"));
        let a = Analysis { information_is_allowed_to_be_sent: false, ..analysis() };
        let d = recompute(&a, &facts());
        skipped(&d, SkipCode::TemplateNotAllowed);
        assert!(d.reasons[5].detail.contains("analysis says the information may not be sent"));
    }

    #[test]
    fn a_server_duplicate_overrides_the_model() {
        for kind in [DuplicateKind::Exact, DuplicateKind::Near] {
            let d = recompute(&analysis(), &Facts { server_duplicate: Some(hit(kind)), ..facts() });
            skipped(&d, SkipCode::DuplicateEmail);
            assert!(d.reasons[6].detail.contains("claimed is_duplicate: false"), "{}", d.reasons[6].detail);
        }
    }

    #[test]
    fn a_model_duplicate_is_respected() {
        let a = Analysis { is_duplicate: true, ..analysis() };
        skipped(&recompute(&a, &facts()), SkipCode::DuplicateEmail);
    }

    #[test]
    fn the_model_declining_is_respected() {
        let a = Analysis { agent_must_send_email: false, ..analysis() };
        let d = recompute(&a, &facts());
        skipped(&d, SkipCode::AgentDeclined);
        assert_eq!(failed(&d), ["agent_must_send_email"]);
    }

    #[test]
    fn the_model_insisting_does_not_override_failures() {
        // agent_must_send_email: true with every other claim false and every fact against it.
        let a = Analysis {
            user_email_presence: false,
            user_correctness_agreement: false,
            convo_agent_promise: false,
            information_is_allowed_to_be_sent: false,
            is_duplicate: true,
            ..analysis()
        };
        let f = Facts {
            email_present_and_valid: false,
            template_allowed: false,
            server_duplicate: Some(hit(DuplicateKind::Exact)),
            ..facts()
        };
        let d = recompute(&a, &f);
        skipped(&d, SkipCode::EmailMissing);
        assert_eq!(
            failed(&d),
            ["email_present", "email_confirmed", "agent_promise", "template_allowed", "not_duplicate"]
        );
    }

    #[test]
    fn consent_from_the_contact_attribute() {
        assert_eq!(Consent::from_subscribed(Some(true)), Consent::Granted);
        assert_eq!(Consent::from_subscribed(Some(false)), Consent::OptedOut);
        assert_eq!(Consent::from_subscribed(None), Consent::Unset);
        assert!(consent_question("es-ES").starts_with("Anteriormente"));
        assert!(consent_question("xx").starts_with("You previously"));
    }

    #[test]
    fn wire_names() {
        for (code, name) in [
            (SkipCode::Disabled, "disabled"),
            (SkipCode::EmailMissing, "email_missing"),
            (SkipCode::EmailNotConfirmed, "email_not_confirmed"),
            (SkipCode::NoAgentPromise, "no_agent_promise"),
            (SkipCode::TemplateNotAllowed, "template_not_allowed"),
            (SkipCode::DuplicateEmail, "duplicate_email"),
            (SkipCode::AgentDeclined, "agent_declined"),
            (SkipCode::UserEmailOptOut, "user_email_opt_out"),
            (SkipCode::UserMarketingEmailOptOut, "user_marketing_email_opt_out"),
        ] {
            assert_eq!(code.as_str(), name);
            assert_eq!(serde_json::to_value(code).unwrap(), name);
        }
        for s in [DecisionStatus::Send, DecisionStatus::Skipped, DecisionStatus::ConsentRequired] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        let d = recompute(&analysis(), &facts());
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(
            v["reasons"][0],
            serde_json::json!({"name": "enabled", "passed": true, "detail": d.reasons[0].detail})
        );
    }

    #[test]
    fn direct_emails() {
        let d = decide_direct(Some(false), None);
        assert!(d.send && d.status == DecisionStatus::Send && d.code.is_none());
        assert!(decide_direct(None, None).send);
        let d = decide_direct(Some(true), Some(hit(DuplicateKind::Near)));
        skipped(&d, SkipCode::UserMarketingEmailOptOut);
        assert_eq!(failed(&d), ["marketing_consent", "not_duplicate"]);
        skipped(&decide_direct(Some(false), Some(hit(DuplicateKind::Exact))), SkipCode::DuplicateEmail);
    }
}
