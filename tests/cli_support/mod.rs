//! Runs the `api-tokens` binary against its fakes and checks that no secret
//! leaks into what it prints.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Faults on every call of both fakes: a request would be noticed (its
/// 500 would be reported), so a run that passes with them sent none.
pub const ANY_REQUEST_FAILS: &str = "unit:create:500:times=9,unit:list:500:times=9,\
    unit:revoke:500:times=9,mailtrap:create:500:times=9,mailtrap:get:500:times=9,\
    mailtrap:list:500:times=9,mailtrap:delete:500:times=9,mailtrap:reset:500:times=9";

/// The arguments of a command line, split at white space; a word in
/// single quotes may hold spaces: `words("mailtrap create --name 'CI
/// sender'")`.
pub fn words(line: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let mut rest = line.trim_start();
    while !rest.is_empty() {
        let (word, after) = match rest.strip_prefix('\'') {
            Some(quoted) => {
                let end = quoted.find('\'').expect("a closing quote");
                (&quoted[..end], &quoted[end + 1..])
            }
            None => rest.split_at(rest.find(char::is_whitespace).unwrap_or(rest.len())),
        };
        words.push(word);
        rest = after.trim_start();
    }
    words
}

/// What one run of the binary left.
#[derive(Debug)]
pub struct Run {
    /// The arguments it ran with, joined by spaces, to name the run in a
    /// failed assertion.
    pub args: String,
    /// The exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// The fakes' tokens when the command ended (no secrets), with `--fake`.
    pub state: Option<Value>,
}

impl Run {
    /// Standard output as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", self.stdout))
    }

    /// The fakes' tokens of one service, as `(id, name)`.
    pub fn tokens(&self, service: &str) -> Vec<(String, String)> {
        tokens_of(
            self.state.as_ref().expect("no state: not run with --fake"),
            service,
        )
    }

    /// The ids of one service's tokens the fakes held at the end.
    pub fn ids(&self, service: &str) -> Vec<String> {
        self.tokens(service).into_iter().map(|t| t.0).collect()
    }

    /// The names of one service's tokens the fakes held at the end.
    pub fn names(&self, service: &str) -> Vec<String> {
        self.tokens(service).into_iter().map(|t| t.1).collect()
    }

    /// Asserts the exit code, showing both streams otherwise.
    #[track_caller]
    pub fn code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "exit code of `{}`\n--- stdout\n{}\n--- stderr\n{}",
            self.args, self.stdout, self.stderr
        );
        self
    }

    /// Standard output, to assert on.
    pub fn out(&self) -> Stream<'_> {
        Stream::of(self, "stdout", &self.stdout)
    }

    /// Standard error, to assert on.
    pub fn err(&self) -> Stream<'_> {
        Stream::of(self, "stderr", &self.stderr)
    }

    /// Asserts what a failed run shows: `code`, nothing on standard
    /// output, and one line on standard error holding `says`.
    #[track_caller]
    pub fn fails_with(&self, code: i32, says: &str) -> &Run {
        self.code(code).out().empty().err().one_line().has(says);
        self
    }
}

/// One stream of a run, to assert on: a failed assertion names the run
/// and shows the stream; one that holds gives the stream back for the
/// next.
#[derive(Clone, Copy)]
pub struct Stream<'a> {
    run: &'a Run,
    name: &'static str,
    text: &'a str,
}

impl<'a> Stream<'a> {
    fn of(run: &'a Run, name: &'static str, text: &'a str) -> Stream<'a> {
        Stream { run, name, text }
    }

    /// The run's standard output, to go on asserting there.
    pub fn out(self) -> Stream<'a> {
        self.run.out()
    }

    /// The run's standard error, to go on asserting there.
    pub fn err(self) -> Stream<'a> {
        self.run.err()
    }

    /// Asserts that the stream holds `part`.
    #[track_caller]
    pub fn has(self, part: &str) -> Stream<'a> {
        self.expect(self.text.contains(part), &format!("hold {part:?}"))
    }

    /// Asserts that the stream is empty.
    #[track_caller]
    pub fn empty(self) -> Stream<'a> {
        self.expect(self.text.is_empty(), "be empty")
    }

    /// Asserts that the stream starts with `prefix`.
    #[track_caller]
    pub fn begins(self, prefix: &str) -> Stream<'a> {
        let holds = self.text.starts_with(prefix);
        self.expect(holds, &format!("start with {prefix:?}"))
    }

    /// Asserts that the stream is exactly one line.
    #[track_caller]
    pub fn one_line(self) -> Stream<'a> {
        self.expect(self.text.lines().count() == 1, "be one line")
    }

    #[track_caller]
    fn expect(self, holds: bool, should: &str) -> Stream<'a> {
        let Stream { run, name, text } = self;
        assert!(holds, "`{}`: {name} should {should}:\n{text}", run.args);
        self
    }
}

/// The tokens of one service in a state the fakes left, as `(id, name)`.
fn tokens_of(state: &Value, service: &str) -> Vec<(String, String)> {
    state[service]
        .as_array()
        .expect("tokens")
        .iter()
        .map(|t| {
            (
                t["id"].as_str().expect("id").to_owned(),
                t["name"].as_str().expect("name").to_owned(),
            )
        })
        .collect()
}

/// A scratch directory for one test.
pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

/// Runs `api-tokens --fake ARGS` with `faults` in `API_TOKENS_FAKE_FAULT`,
/// from a clean environment, and checks that neither stream carries
/// anything shaped like a secret of the fakes.
pub fn fake(args: &[&str], faults: &str) -> Run {
    Session::new().run(args, faults)
}

/// As [`fake`], for a command with `--secret-to -`: only standard error is
/// checked here, and the caller checks that standard output holds the
/// secret alone.
pub fn fake_secret_on_stdout(args: &[&str], faults: &str) -> Run {
    Session::new().run_secret_on_stdout(args, faults)
}

/// Several runs on the same fake tokens: the state the fakes leave at the
/// end of one run is where the next one starts.
pub struct Session {
    dir: tempfile::TempDir,
}

impl Default for Session {
    fn default() -> Self {
        Session::new()
    }
}

impl Session {
    /// A session whose first run starts on the seeded tokens.
    pub fn new() -> Session {
        Session { dir: scratch() }
    }

    /// A run, checked as [`fake`] does.
    pub fn run(&self, args: &[&str], faults: &str) -> Run {
        let run = self.run_secret_on_stdout(args, faults);
        assert_no_secret_shape(&run.stdout, "stdout");
        run
    }

    /// A run, checked as [`fake_secret_on_stdout`] does.
    pub fn run_secret_on_stdout(&self, args: &[&str], faults: &str) -> Run {
        let state = self.state_path();
        let run = finish(&mut self.command(args, faults), Some(&state));
        assert_no_secret_shape(&run.stderr, "stderr");
        run
    }

    /// The command `api-tokens --fake ARGS` of this session, not yet run,
    /// for a caller that runs it its own way.
    pub fn command(&self, args: &[&str], faults: &str) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_api-tokens"));
        command.arg("--fake").args(args).env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        command.env("API_TOKENS_FAKE_STATE", self.state_path());
        if !faults.is_empty() {
            command.env("API_TOKENS_FAKE_FAULT", faults);
        }
        command
    }

    /// The fakes' tokens of one service as the last run left them, as
    /// `(id, name)`.
    pub fn tokens(&self, service: &str) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(self.state_path()).expect("a run left a state");
        tokens_of(
            &serde_json::from_str(&text).expect("state is JSON"),
            service,
        )
    }

    fn state_path(&self) -> PathBuf {
        self.dir.path().join("state.json")
    }
}

/// Runs `api-tokens ARGS` with exactly these environment variables, and
/// checks that neither stream carries a secret's shape or the value of a
/// `…_TOKEN` variable.
pub fn with_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_api-tokens"));
    command.args(args).env_clear();
    for (k, v) in env {
        command.env(k, v);
    }
    let run = finish(&mut command, None);
    assert_no_secret_shape(&run.stdout, "stdout");
    assert_no_secret_shape(&run.stderr, "stderr");
    for (_, value) in env.iter().filter(|(k, _)| k.ends_with("_TOKEN")) {
        assert!(
            !run.stdout.contains(value) && !run.stderr.contains(value),
            "a token leaked"
        );
    }
    run
}

/// Runs `api-tokens --fake ARGS` with every call of both fakes failing
/// ([`ANY_REQUEST_FAILS`]), and asserts that it was refused with exit 2
/// saying `says` before any request: no 500 is reported.
#[track_caller]
pub fn refused_before_any_request(args: &[&str], says: &str) -> Run {
    let run = fake(args, ANY_REQUEST_FAILS);
    run.code(2).out().empty().err().has(says);
    assert!(
        !run.stderr.contains("500"),
        "`{}`: a request was sent:\n{}",
        run.args,
        run.stderr
    );
    run
}

fn finish(command: &mut Command, state: Option<&Path>) -> Run {
    let args: Vec<_> = command.get_args().map(|a| a.to_string_lossy()).collect();
    let args = args.join(" ");
    let out = command.output().expect("the binary runs");
    let state = state.filter(|p| p.exists()).map(|p| {
        serde_json::from_str(&std::fs::read_to_string(p).expect("state")).expect("state is JSON")
    });
    Run {
        args,
        code: out.status.code().expect("an exit code, not a signal"),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        state,
    }
}

/// Neither a Unit secret (`v2.public.…`) nor a Mailtrap one (32 hex
/// digits, outside a request id) appears in `text`.
#[track_caller]
pub fn assert_no_secret_shape(text: &str, what: &str) {
    assert!(
        !text.contains("v2.public."),
        "a Unit secret in {what}:\n{text}"
    );
    for word in text.split(|c: char| !c.is_ascii_alphanumeric()) {
        let hex = word.len() >= 32 && word.bytes().all(|b| b.is_ascii_hexdigit());
        if hex {
            let at = text.find(word).unwrap_or(0);
            let before = &text[..at];
            assert!(
                before.trim_end().ends_with("request id"),
                "a Mailtrap secret in {what}:\n{text}"
            );
        }
    }
}

/// Asserts that a secret read from a sink appears in neither stream.
#[track_caller]
pub fn assert_secret_absent(run: &Run, secret: &str) {
    assert!(secret.len() >= 16, "not a secret: {secret:?}");
    assert!(!run.stdout.contains(secret), "the secret leaked to stdout");
    assert!(!run.stderr.contains(secret), "the secret leaked to stderr");
}

/// The secret stored in a file sink (its one line).
pub fn read_secret(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("the sink's file");
    let secret = text.strip_suffix('\n').expect("one line").to_owned();
    assert!(!secret.contains('\n'));
    secret
}

/// A file sink in a scratch directory of its own.
pub struct FileSink {
    _dir: tempfile::TempDir,
    path: PathBuf,
    spec: String,
}

impl FileSink {
    /// A sink `file:DIR/NAME` whose file does not exist yet.
    pub fn new(name: &str) -> FileSink {
        let dir = scratch();
        let path = path_in(&dir, name);
        let spec = file_spec(&path);
        FileSink {
            _dir: dir,
            path,
            spec,
        }
    }

    /// A sink `env-file:DIR/.env:KEY` whose file does not exist yet.
    pub fn env_file(key: &str) -> FileSink {
        let dir = scratch();
        let path = path_in(&dir, ".env");
        let spec = format!("env-file:{}:{key}", path.display());
        FileSink {
            _dir: dir,
            path,
            spec,
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `file:PATH`.
    pub fn spec(&self) -> &str {
        &self.spec
    }

    /// `args` followed by `--secret-to file:PATH`.
    pub fn after<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut args = args.to_vec();
        args.extend(["--secret-to", self.spec()]);
        args
    }

    /// The secret stored in the file, asserted absent from both streams
    /// of `run`.
    #[track_caller]
    pub fn secret_kept_from(&self, run: &Run) -> String {
        let secret = read_secret(&self.path);
        assert_secret_absent(run, &secret);
        secret
    }
}

/// Runs `api-tokens --fake` with the words of `line` and `--secret-to` a
/// new file sink, asserts exit 0, and gives the run and the secret the sink
/// holds, asserted absent from both streams.
#[track_caller]
pub fn fake_into_file(line: &str, faults: &str) -> (Run, String) {
    let sink = FileSink::new("secret");
    let run = fake(&sink.after(&words(line)), faults);
    run.code(0);
    let secret = sink.secret_kept_from(&run);
    (run, secret)
}

/// The marker an exit-4 failure names: `[at:…]`.
pub fn marker_in(text: &str) -> String {
    let start = text.find("[at:").expect("a marker");
    let end = start + text[start..].find(']').expect("its end") + 1;
    text[start..end].to_owned()
}

/// `file:PATH` for a path.
pub fn file_spec(path: &Path) -> String {
    format!("file:{}", path.display())
}

/// A path in a directory.
pub fn path_in(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}
