//! Address parsing: whatever parses formats back to text that parses to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailroom_core::{EmailAddress, MailboxName, NamedAddress};

fuzz_target!(|input: &str| {
    if let Ok(a) = EmailAddress::parse(input) {
        let again = EmailAddress::parse(&a.to_string()).expect("a formatted address parses");
        assert_eq!(again, a);
        let (base, _tag) = a.without_tag();
        assert!(EmailAddress::parse(base.as_str()).is_ok(), "the address without its tag parses");
        let _ = EmailAddress::parse(&a.canonical());
        assert_eq!(format!("{}@{}", a.local_part(), a.domain()), a.as_str());
    }
    if let Ok(n) = NamedAddress::parse(input) {
        let again = NamedAddress::parse(&n.to_string()).expect("a formatted named address parses");
        assert_eq!(again, n);
    }
    let _ = MailboxName::parse(input);
});
