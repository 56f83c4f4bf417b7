//! [`WriterSink`]: one line on any [`AsyncWrite`].

use std::io;

use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::secret_sink::{SecretMeta, SecretSink, SinkError, async_trait};

/// Writes the secret and a newline to any [`AsyncWrite`] (a pipe, a socket,
/// a buffer in a test), and flushes it. Stores from several tasks are
/// serialized: each line is whole.
///
/// ```
/// use api_tokens::Service;
/// use api_tokens::lifecycle::sink::{SecretMeta, SecretSink, WriterSink};
/// use secrecy::SecretString;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let sink = WriterSink::new(Vec::new());
/// sink.store(&SecretString::from("a1b2c3"), &SecretMeta::new(Service::Mailtrap, "7")).await?;
/// assert_eq!(sink.into_inner(), b"a1b2c3\n");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct WriterSink<W> {
    writer: tokio::sync::Mutex<W>,
}

impl<W: AsyncWrite + Unpin + Send> WriterSink<W> {
    /// A sink that writes to `writer`.
    pub fn new(writer: W) -> Self {
        Self {
            writer: tokio::sync::Mutex::new(writer),
        }
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.writer.into_inner()
    }
}

#[async_trait]
impl<W: AsyncWrite + Unpin + Send> SecretSink for WriterSink<W> {
    async fn store(&self, secret: &SecretString, _meta: &SecretMeta) -> Result<(), SinkError> {
        let mut writer = self.writer.lock().await;
        write_line(&mut *writer, secret, "writer").await
    }

    fn describe(&self) -> String {
        "a writer".to_owned()
    }
}

/// The secret, a newline, a flush; a failure is the [`SinkError::Write`]
/// of the sink named `sink`.
pub(super) async fn write_line<W: AsyncWrite + Unpin + ?Sized>(
    writer: &mut W,
    secret: &SecretString,
    sink: &str,
) -> Result<(), SinkError> {
    let written: io::Result<()> = async {
        writer.write_all(secret.expose_secret().as_bytes()).await?;
        writer.write_all(b"\n").await?;
        writer.flush().await
    }
    .await;
    written.map_err(|source| SinkError::Write {
        sink: sink.to_owned(),
        source,
    })
}
