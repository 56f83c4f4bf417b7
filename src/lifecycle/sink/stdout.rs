//! [`StdoutSink`]: one line on standard output.

use secrecy::SecretString;

use super::secret_sink::{SecretMeta, SecretSink, SinkError, async_trait};
use super::writer::write_line;

/// Writes the secret and a newline to standard output, and flushes it: the
/// command line's `--secret-to -`, the one way a secret reaches a terminal.
///
/// Stores from several tasks are serialized, each line whole. Nothing but
/// the secret's line is written: metadata belongs on standard error or in a
/// report.
#[derive(Debug, Clone, Copy, Default)]
pub struct StdoutSink;

#[async_trait]
impl SecretSink for StdoutSink {
    async fn store(&self, secret: &SecretString, _meta: &SecretMeta) -> Result<(), SinkError> {
        // Stores from several tasks must not interleave their bytes.
        static STDOUT: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let _line = STDOUT.lock().await;
        write_line(&mut tokio::io::stdout(), secret, "standard output").await
    }

    fn describe(&self) -> String {
        "standard output".to_owned()
    }
}
