//! [`FnSink`]: a sink made of an async closure, by [`from_fn`].

use std::fmt;
use std::future::Future;

use secrecy::SecretString;

use super::secret_sink::{SecretMeta, SecretSink, SinkError, async_trait};

/// A sink that runs a closure; made by [`from_fn`].
pub struct FnSink<F> {
    f: F,
}

impl<F> fmt::Debug for FnSink<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnSink").finish_non_exhaustive()
    }
}

/// A sink that hands the secret and its metadata to an async closure: for
/// tests and glue code.
///
/// The closure gets its own copies of the secret and the metadata, so its
/// future can be `async move`.
///
/// ```
/// use std::sync::{Arc, Mutex};
///
/// use api_tokens::Service;
/// use api_tokens::lifecycle::sink::{self, SecretMeta, SecretSink};
/// use secrecy::{ExposeSecret, SecretString};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let received = Arc::new(Mutex::new(Vec::new()));
/// let seen = Arc::clone(&received);
/// let sink = sink::from_fn(move |secret: SecretString, meta: SecretMeta| {
///     let seen = Arc::clone(&seen);
///     async move {
///         seen.lock().unwrap().push((meta.id().to_owned(), secret));
///         Ok(())
///     }
/// });
///
/// sink.store(&SecretString::from("a1b2c3"), &SecretMeta::new(Service::Mailtrap, "7")).await?;
/// let received = received.lock().unwrap();
/// assert_eq!(received[0].0, "7");
/// assert_eq!(received[0].1.expose_secret(), "a1b2c3");
/// # Ok(()) }
/// ```
pub fn from_fn<F, Fut>(f: F) -> FnSink<F>
where
    F: Fn(SecretString, SecretMeta) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), SinkError>> + Send,
{
    FnSink { f }
}

#[async_trait]
impl<F, Fut> SecretSink for FnSink<F>
where
    F: Fn(SecretString, SecretMeta) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), SinkError>> + Send,
{
    async fn store(&self, secret: &SecretString, meta: &SecretMeta) -> Result<(), SinkError> {
        (self.f)(secret.clone(), meta.clone()).await
    }

    fn describe(&self) -> String {
        "a closure".to_owned()
    }
}
