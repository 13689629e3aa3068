//! Everything the user sees besides command output: status lines, colour, spinner, exit codes.

use std::fmt;
use std::future::Future;
use std::io::{IsTerminal, Write};
use std::time::Duration;

/// Exit status: the command failed (object not found, reconcile failed, API refused).
pub const EXIT_FAILURE: u8 = 1;
/// Exit status: no cluster (kubeconfig missing or wrong, server unreachable).
pub const EXIT_NO_CLUSTER: u8 = 3;
/// Exit status: timed out waiting.
pub const EXIT_TIMEOUT: u8 = 4;

/// An error with the exit status it should end the process with.
#[derive(Debug)]
pub struct Failure {
    /// Exit status.
    pub code: u8,
    /// One line: what failed, why, and what to do.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// Builds a [`Failure`] as an `anyhow::Error`.
pub fn fail(code: u8, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Failure {
        code,
        message: message.into(),
    })
}

/// How status lines are written to stderr.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    color: bool,
    tty: bool,
}

impl Ui {
    /// Colour only on a terminal, never with `--no-color` or `NO_COLOR`.
    pub fn new(no_color: bool) -> Ui {
        let tty = std::io::stderr().is_terminal();
        let env_off = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Ui {
            color: tty && !no_color && !env_off,
            tty,
        }
    }

    fn line(&self, symbol: &str, color: &str, msg: &str) {
        let mut err = std::io::stderr().lock();
        let _ = if self.color {
            writeln!(err, "\x1b[{color}m{symbol}\x1b[0m {msg}")
        } else {
            writeln!(err, "{symbol} {msg}")
        };
    }

    /// `► doing something`.
    pub fn action(&self, msg: &str) {
        self.line("►", "34", msg);
    }

    /// `✔ done`.
    pub fn success(&self, msg: &str) {
        self.line("✔", "32", msg);
    }

    /// `◎ waiting`.
    pub fn waiting(&self, msg: &str) {
        self.line("◎", "36", msg);
    }

    /// `⚠ warning`.
    pub fn warning(&self, msg: &str) {
        self.line("⚠", "33", msg);
    }

    /// `✗ failure` (not an error exit by itself).
    pub fn failure(&self, msg: &str) {
        self.line("✗", "31", msg);
    }

    /// Runs `fut`, showing a spinner with `msg` on a terminal (a plain `◎ msg` line otherwise).
    pub async fn spin<F: Future>(&self, msg: &str, fut: F) -> F::Output {
        if !self.tty {
            self.waiting(msg);
            return fut.await;
        }
        let text = msg.to_string();
        let color = self.color;
        let spinner = tokio::spawn(async move {
            const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
            let mut i = 0usize;
            loop {
                let frame = FRAMES[i % FRAMES.len()];
                {
                    let mut err = std::io::stderr().lock();
                    let _ = if color {
                        write!(err, "\r\x1b[36m{frame}\x1b[0m {text}")
                    } else {
                        write!(err, "\r{frame} {text}")
                    };
                    let _ = err.flush();
                }
                i += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let out = fut.await;
        spinner.abort();
        let _ = spinner.await;
        {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
        self.waiting(msg);
        out
    }
}
