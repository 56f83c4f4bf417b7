//! A pointer to a sink (`Box`, `Arc`, a reference) is that sink.

use api_tokens::lifecycle::sink::{SecretMeta, SecretSink, SinkError, async_trait};
use api_tokens::secrecy::SecretString;

/// A sink that names itself.
struct Named;

#[async_trait]
impl SecretSink for Named {
    async fn store(&self, _: &SecretString, _: &SecretMeta) -> Result<(), SinkError> {
        Ok(())
    }

    fn describe(&self) -> String {
        "the named sink".to_owned()
    }
}

fn describe(sink: &impl SecretSink) -> String {
    sink.describe()
}

#[test]
fn a_pointer_to_a_sink_is_that_sink() {
    let boxed: Box<dyn SecretSink> = Box::new(Named);
    let shared: std::sync::Arc<dyn SecretSink> = std::sync::Arc::new(Named);
    assert_eq!(describe(&boxed), "the named sink");
    assert_eq!(describe(&shared), "the named sink");
    assert_eq!(describe(&&Named), "the named sink");
    assert_eq!(
        describe(&Box::new(std::sync::Arc::new(Named))),
        "the named sink"
    );
    assert!(boxed.writer_lock().is_none());
}
