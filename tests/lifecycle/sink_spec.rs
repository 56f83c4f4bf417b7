//! Sink specs of the stores behind a feature: `aws-sm:NAME` and
//! `vault:MOUNT/PATH` parse and name their store when the feature is on, and
//! name the missing feature (never the secret's path) when it is off.

use api_tokens::lifecycle::sink::SinkSpec;

#[cfg(feature = "aws")]
#[test]
fn aws_sm_names_a_secret_by_name_or_arn() {
    let spec: SinkSpec = "aws-sm:ci/unit-deploy".parse().unwrap();
    assert_eq!(
        spec,
        SinkSpec::AwsSecretsManager("ci/unit-deploy".to_owned())
    );
    assert_eq!(spec.to_string(), "aws-sm:ci/unit-deploy");
    let arn = "aws-sm:arn:aws:secretsmanager:eu-west-1:123456789012:secret:ci/x-AbCdEf";
    assert_eq!(arn.parse::<SinkSpec>().unwrap().to_string(), arn);
    let sink = spec.into_sink().unwrap();
    assert_eq!(sink.describe(), "AWS Secrets Manager secret ci/unit-deploy");
    let err = "aws-sm:".parse::<SinkSpec>().unwrap_err().to_string();
    assert!(
        err.contains("`aws-sm:` the secret's name is empty"),
        "{err}"
    );
    let err = "aws-sm:a b".parse::<SinkSpec>().unwrap_err().to_string();
    assert!(err.contains("a space"), "{err}");
}

#[cfg(feature = "vault")]
#[test]
fn vault_names_a_mount_and_a_path() {
    let spec: SinkSpec = "vault:secret/ci/mailtrap-deploy".parse().unwrap();
    assert_eq!(
        spec,
        SinkSpec::Vault("secret/ci/mailtrap-deploy".to_owned())
    );
    assert_eq!(spec.to_string(), "vault:secret/ci/mailtrap-deploy");
    let sink = spec.into_sink().unwrap();
    assert_eq!(sink.describe(), "Vault KV secret secret/ci/mailtrap-deploy");
    let err = "vault:secret".parse::<SinkSpec>().unwrap_err().to_string();
    assert!(err.contains("`vault:` needs a mount and a path"), "{err}");
}

#[cfg(not(feature = "vault"))]
#[test]
fn vault_without_the_feature_says_which_feature() {
    let err = "vault:secret/ci/unit"
        .parse::<SinkSpec>()
        .unwrap_err()
        .to_string();
    assert!(err.contains("feature `vault`"), "{err}");
    assert!(!err.contains("ci/unit"), "{err}");
}

#[cfg(not(feature = "aws"))]
#[test]
fn aws_sm_without_the_feature_says_which_feature() {
    let err = "aws-sm:ci/unit"
        .parse::<SinkSpec>()
        .unwrap_err()
        .to_string();
    assert!(err.contains("feature `aws`"), "{err}");
    assert!(!err.contains("ci/unit"), "{err}");
}
