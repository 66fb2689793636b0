//! A child process under test: its stdout read line by line, its stderr
//! collected, a deadline on every wait, and SIGKILL when dropped (so a
//! failing test never leaves a child behind).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Proc {
    /// What the child is, for failure messages.
    pub what: String,
    child: Option<Child>,
    lines: Receiver<String>,
    /// Every stdout line received so far, in order.
    pub seen: Vec<String>,
    stderr: Arc<Mutex<String>>,
    stdin: Option<ChildStdin>,
}

impl Proc {
    /// Starts `cmd` with piped stdin, stdout and stderr.
    pub fn spawn(what: impl Into<String>, cmd: &mut Command) -> Proc {
        let what = what.into();
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {what}: {e}"));
        let (tx, rx) = channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let (se, mut err) = (stderr.clone(), child.stderr.take().unwrap());
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            se.lock().unwrap().push_str(&s);
        });
        let stdin = child.stdin.take();
        Proc {
            what,
            child: Some(child),
            lines: rx,
            seen: Vec::new(),
            stderr,
            stdin,
        }
    }

    /// The child's pid (0 once it has been reaped).
    pub fn pid(&self) -> i32 {
        self.child.as_ref().map_or(0, |c| c.id() as i32)
    }

    /// Its stderr so far (after a moment for the collector to catch up).
    pub fn err_text(&self) -> String {
        std::thread::sleep(Duration::from_millis(20));
        self.stderr.lock().unwrap().clone()
    }

    /// Its stdout lines and stderr, for a failure message.
    pub fn report(&self) -> String {
        format!("stdout: {:#?}\nstderr: {}", self.seen, self.err_text())
    }

    /// The next stdout line within `t`; kills the child and fails the test
    /// when none comes.
    pub fn line(&mut self, t: Duration) -> String {
        match self.lines.recv_timeout(t) {
            Ok(l) => {
                self.seen.push(l.clone());
                l
            }
            Err(RecvTimeoutError::Timeout) => {
                let st = self.kill();
                panic!(
                    "{}: no line within {t:?} (killed: {st:?})\n{}",
                    self.what,
                    self.report()
                )
            }
            Err(RecvTimeoutError::Disconnected) => {
                let st = self.child.as_mut().map(|c| c.wait());
                panic!(
                    "{}: exited ({st:?}) before printing a line\n{}",
                    self.what,
                    self.report()
                )
            }
        }
    }

    /// Reads lines until one starts with `prefix`, all within `t`.
    pub fn expect_line(&mut self, prefix: &str, t: Duration) -> String {
        let end = Instant::now() + t;
        loop {
            let l = self.line(end.saturating_duration_since(Instant::now()));
            if l.starts_with(prefix) {
                return l;
            }
        }
    }

    /// Writes `s` to the child's stdin (ignored once it is closed).
    pub fn send(&mut self, s: &str) {
        if let Some(i) = self.stdin.as_mut() {
            let _ = i.write_all(s.as_bytes());
        }
    }

    /// Writes "g" and closes stdin: releases a child waiting at a barrier.
    pub fn go(&mut self) {
        self.send("g");
        self.stdin.take();
    }

    /// The exit status if the child has exited (it stays reapable).
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        self.child.as_mut().and_then(|c| c.try_wait().unwrap())
    }

    /// Closes stdin and waits for the exit within `t` (else kills the
    /// child and fails the test: a hang). Returns the status and the stdout
    /// lines not read before (also appended to `seen`).
    pub fn finish(&mut self, t: Duration) -> (ExitStatus, Vec<String>) {
        self.stdin.take();
        let end = Instant::now() + t;
        let st = loop {
            if let Some(st) = self.try_status() {
                break st;
            }
            if Instant::now() > end {
                self.kill();
                panic!(
                    "{}: still running after {t:?} (killed: a hang)\n{}",
                    self.what,
                    self.report()
                );
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        self.child = None;
        let mut rest = Vec::new();
        // A grandchild may hold stdout open: do not wait for EOF forever.
        while let Ok(l) = self.lines.recv_timeout(Duration::from_millis(300)) {
            rest.push(l);
        }
        self.seen.extend(rest.iter().cloned());
        (st, rest)
    }

    /// Like `finish`, and requires exit status 0.
    pub fn success(&mut self, t: Duration) -> Vec<String> {
        let (st, lines) = self.finish(t);
        assert!(
            st.success(),
            "{} failed: {st:?}\n{}",
            self.what,
            self.report()
        );
        lines
    }

    /// Sends signal `sig` to the child.
    pub fn signal(&self, sig: i32) {
        let pid = self.pid();
        if pid > 0 {
            // SAFETY: kill(2) on the pid of our own, not yet reaped, child
            // (never 0: that would signal our whole process group).
            unsafe { libc::kill(pid, sig) };
        }
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) -> Option<ExitStatus> {
        let mut c = self.child.take()?;
        let _ = c.kill();
        c.wait().ok()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}
