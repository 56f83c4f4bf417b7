//! A progress line on standard error while a call waits (a retry's backoff,
//! pacing under a rate limit, a slow answer), drawn only when standard
//! error is a terminal.
//!
//! It listens to the crate's tracing: the `api_tokens.call` span says which
//! call is running (service and operation, never a secret), the
//! `api_tokens::retry` event why it waits and for how long.

use std::fmt::Debug;
use std::io::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// How long a call runs before the line appears.
const QUIET_FOR: Duration = Duration::from_millis(800);
/// How often the line is redrawn.
const TICK: Duration = Duration::from_millis(200);

#[derive(Debug, Default)]
struct State {
    /// The running call: what it is and when it started.
    call: Option<(String, Instant)>,
    /// Why it waits, and until when.
    waiting: Option<(String, Instant)>,
    /// Whether the line is on the screen.
    shown: bool,
}

/// Shared between the layer and the drawing task.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    state: Arc<Mutex<State>>,
}

impl Progress {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The tracing layer that feeds the line.
    pub fn layer(&self) -> ProgressLayer {
        ProgressLayer {
            progress: self.clone(),
        }
    }

    /// Redraws the line every tick until `stop` is dropped or sent.
    pub fn draw(self) -> Drawing {
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let progress = self.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = tick.tick() => progress.redraw(),
                }
            }
            progress.clear();
        });
        Drawing {
            stop: Some(stop),
            task: Some(task),
        }
    }

    fn redraw(&self) {
        let line = self.with(|state| {
            let (what, since) = state.call.as_ref()?;
            let now = Instant::now();
            let running = now.duration_since(*since);
            let why = match &state.waiting {
                Some((why, until)) if *until > now => {
                    format!(
                        "{why}, retrying in {:.1}s",
                        until.duration_since(now).as_secs_f64()
                    )
                }
                Some((why, _)) => format!("{why}, retrying"),
                None if running >= QUIET_FOR => "waiting".to_owned(),
                None => return None,
            };
            state.shown = true;
            Some(format!("{what}: {why} ({:.1}s)", running.as_secs_f64()))
        });
        if let Some(line) = line {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K{line}");
            let _ = err.flush();
        } else {
            self.clear();
        }
    }

    fn clear(&self) {
        if self.with(|state| std::mem::take(&mut state.shown)) {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}

/// The drawing task; dropping it leaves the line cleared.
pub struct Drawing {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Drawing {
    /// Stops drawing and clears the line.
    pub async fn finish(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// Feeds [`Progress`] from the crate's spans and events.
pub struct ProgressLayer {
    progress: Progress,
}

#[derive(Default)]
struct Fields {
    service: Option<String>,
    operation: Option<String>,
    reason: Option<String>,
    delay_ms: Option<u64>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        let text = format!("{value:?}");
        match field.name() {
            "service" => self.service = Some(text),
            "operation" => self.operation = Some(text.trim_matches('"').to_owned()),
            "reason" => self.reason = Some(text),
            _ => {}
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "operation" => self.operation = Some(value.to_owned()),
            "service" => self.service = Some(value.to_owned()),
            "reason" => self.reason = Some(value.to_owned()),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "delay_ms" {
            self.delay_ms = Some(value);
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if field.name() == "delay_ms" {
            self.delay_ms = u64::try_from(value).ok();
        }
    }
}

impl<S> Layer<S> for ProgressLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, _id: &Id, _ctx: Context<'_, S>) {
        if attrs.metadata().name() != "api_tokens.call" {
            return;
        }
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let what = format!(
            "{} {}",
            fields.service.unwrap_or_default(),
            fields.operation.unwrap_or_default()
        );
        self.progress.with(|state| {
            state.call = Some((what.trim().to_owned(), Instant::now()));
            state.waiting = None;
        });
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if ctx
            .span(&id)
            .is_some_and(|span| span.name() == "api_tokens.call")
        {
            self.progress.with(|state| {
                state.call = None;
                state.waiting = None;
            });
        }
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() != "api_tokens::retry" {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let until = Instant::now() + Duration::from_millis(fields.delay_ms.unwrap_or(0));
        let why = fields.reason.unwrap_or_else(|| "failed".to_owned());
        self.progress
            .with(|state| state.waiting = Some((why, until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt as _;

    #[test]
    fn the_line_follows_the_call_and_its_retries() {
        let progress = Progress::default();
        let subscriber = tracing_subscriber::registry().with(progress.layer());
        tracing::subscriber::with_default(subscriber, || {
            let span =
                tracing::info_span!("api_tokens.call", service = %"Unit", operation = "list");
            {
                let _in = span.enter();
                let state = progress.with(|s| s.call.clone());
                assert_eq!(state.map(|c| c.0).as_deref(), Some("Unit list"));
                tracing::warn!(target: "api_tokens::retry", attempt = 1u32, reason = %"status 503", delay_ms = 1500u64, "retrying");
                let waiting = progress.with(|s| s.waiting.clone());
                assert_eq!(waiting.map(|w| w.0).as_deref(), Some("status 503"));
            }
            drop(span);
            assert!(progress.with(|s| s.call.is_none()));
        });
    }
}
