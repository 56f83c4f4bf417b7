//! The store conformance suite on `aws-sm:NAME`, against moto's local
//! Secrets Manager (features `vault` and `aws`).

use api_tokens::lifecycle::sink::{AWSPREVIOUS, SecretRecord, SecretSink, SinkError};
use api_tokens::testing::store_conformance::{self, StoreUnderTest, Stored};
use async_trait::async_trait;

use crate::aws_support::{Moto, unique_name};

struct SecretsManager(Moto);

fn stored(record: SecretRecord) -> Stored {
    Stored::new(record.token).with_token_id(record.token_id)
}

#[async_trait]
impl StoreUnderTest for SecretsManager {
    fn name(&self) -> String {
        "aws-sm (moto)".to_owned()
    }
    async fn fresh(&self) -> Result<String, SinkError> {
        Ok(unique_name("conformance"))
    }
    fn open(&self, location: &str) -> Result<Box<dyn SecretSink>, SinkError> {
        Ok(Box::new(self.0.sink(location)))
    }
    async fn read_back(&self, location: &str) -> Result<Option<Stored>, SinkError> {
        Ok(self
            .0
            .sink(location)
            .current_record()
            .await?
            .map(|(_, r)| stored(r)))
    }
    async fn read_previous(&self, location: &str) -> Result<Option<Stored>, SinkError> {
        let answer = self
            .0
            .client()
            .get_secret_value()
            .secret_id(location)
            .version_stage(AWSPREVIOUS)
            .send()
            .await;
        let Ok(out) = answer else {
            return Ok(None);
        };
        let text = out.secret_string().unwrap_or_default();
        SecretRecord::from_json(text).map(|r| Some(stored(r)))
    }
}

#[tokio::test]
async fn secrets_manager_store_conforms_fully() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let report = store_conformance::run(&SecretsManager(moto)).await;
    println!("{report}");
    assert!(report.passed(), "{report}");
    assert!(report.unsupported().is_empty(), "{report}");
}
