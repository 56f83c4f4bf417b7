//! The marker a minted token's name carries, through its public API: what
//! looks like one, what is refused, the markers of release 0.2.0, its age
//! and its JSON form.

use api_tokens::lifecycle::Marker;
use chrono::{TimeDelta, Utc};

#[test]
fn markers_of_release_0_2_0_are_read_but_unchecked() {
    let legacy = "my token [at:t0000a-abcdefgh]";
    let marker = Marker::find(legacy).expect("still read");
    assert!(!marker.is_checked());
    assert_eq!(Marker::label(legacy), "my token");
    assert!(Marker::looks_like_marker(legacy));
}

#[test]
fn what_looks_like_a_marker() {
    for text in [
        "[at:x]",
        "a [at:]",
        "a [At:t0000a-abcdefgh from:3]  ",
        "a [at:t0000a-abcdefgh-000000]",
    ] {
        assert!(Marker::looks_like_marker(text), "{text}");
    }
    for text in ["", "ci", "a [at:x] b", "[ops] deploy", "a [at:x", "a [x] ]"] {
        assert!(!Marker::looks_like_marker(text), "{text}");
    }
}

#[test]
fn two_markers_differ() {
    let at = Utc::now();
    assert_ne!(Marker::at(at), Marker::at(at));
}

#[test]
fn malformed_markers_are_refused() {
    for bad in [
        "",
        "[at:]",
        "[at:abc]",
        "[at:abc-1234567]",
        "[at:abc-123456789]",
        "[at:abc-ABCDEFGH]",
        "[at:ab!-12345678]",
        "[at:abc-12345678 from:]",
        "[at:abc-12345678-12345]",
        "[at:abc-12345678-1234567]",
        "[at:abc-12345678-abcdeg]",
        "[at:abc-12345678-abcdef-0]",
        "[at:abc-12345678 from:x1]",
        "[at:abc-12345678",
        "at:abc-12345678]",
        "[at:zzzzzzzzzzzzz-12345678]",
    ] {
        assert!(bad.parse::<Marker>().is_err(), "{bad}");
        assert_eq!(Marker::find(bad), None, "{bad}");
        assert_eq!(Marker::label(bad), bad.trim_end(), "{bad}");
    }
}

#[test]
fn age_is_never_negative() {
    let now = Utc::now();
    let marker = Marker::at(now - TimeDelta::hours(2));
    assert!(marker.age(now) >= TimeDelta::hours(2) - TimeDelta::seconds(1));
    assert_eq!(
        Marker::at(now + TimeDelta::hours(1)).age(now),
        TimeDelta::zero()
    );
}

#[test]
fn serializes_as_its_text() {
    let marker = Marker::replacing("7");
    let json = serde_json::to_string(&marker).unwrap();
    assert_eq!(json, format!("\"{marker}\""));
    assert_eq!(serde_json::from_str::<Marker>(&json).unwrap(), marker);
    assert!(serde_json::from_str::<Marker>("\"[at:nope]\"").is_err());
}
