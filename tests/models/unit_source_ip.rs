//! Unit's source IP entries decoded from any text serde hands over.

use api_tokens::unit::SourceIp;

#[test]
fn one_entry_reads_borrowed_escaped_or_owned_text() {
    let ip: SourceIp = serde_json::from_str(r#"" 10.0.0.1 ""#).unwrap();
    assert_eq!(ip, SourceIp::Addr("10.0.0.1".parse().unwrap()));
    let ip: SourceIp = serde_json::from_str(r#""10.0.0.\u0031/32""#).unwrap();
    assert_eq!(ip, SourceIp::Net("10.0.0.1/32".parse().unwrap()));
    let ip: SourceIp = serde_json::from_value(serde_json::json!("vpn")).unwrap();
    assert_eq!(ip, SourceIp::Unparsed("vpn".into()));
    assert!(serde_json::from_str::<SourceIp>("17").is_err());
    assert!(serde_json::from_str::<SourceIp>("null").is_err());
}
