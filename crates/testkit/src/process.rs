//! Child processes of the tests: `ProcessGuard` owns every process a test
//! starts, by name, signals them by pid and kills and reaps them all when it
//! is dropped, pass or fail; `run_bounded` runs a short command (`cairn
//! admin ...`) with a time bound; `cairn_bin` finds the `cairn` binary.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// Pause between two looks at a process that is expected to exit.
const EXIT_POLL: Duration = Duration::from_millis(20);
/// Environment variable naming the `cairn` binary when cargo does not.
pub const BIN_ENV: &str = "CAIRN_BIN";

/// The `cairn` binary: cargo's `CARGO_BIN_EXE_cairn` (set for the `cairn`
/// crate's integration tests), else `CAIRN_BIN`, else `cairn` next to the
/// test binary's `deps` directory (where cargo puts it).
pub fn cairn_bin() -> PathBuf {
    for var in ["CARGO_BIN_EXE_cairn", BIN_ENV] {
        if let Some(path) = std::env::var_os(var).filter(|p| !p.is_empty()) {
            return path.into();
        }
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let beside_deps = exe.parent().and_then(|deps| deps.parent());
    let bin = beside_deps
        .map(|dir| dir.join("cairn"))
        .filter(|p| p.is_file());
    bin.unwrap_or_else(|| panic!("no cairn binary: set {BIN_ENV} or build `-p cairn`"))
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A signal a test sends to one of its processes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGSTOP: the process freezes (its sockets stay open, nothing answers).
    Stop,
    /// SIGCONT: a frozen process runs on.
    Cont,
    /// SIGTERM: a clean stop.
    Term,
}

impl Signal {
    fn name(self) -> &'static str {
        match self {
            Signal::Stop => "STOP",
            Signal::Cont => "CONT",
            Signal::Term => "TERM",
        }
    }
}

/// Every child process of a test, by name, killed by pid (and reaped) when
/// the guard is dropped, pass or fail.
#[derive(Default)]
pub struct ProcessGuard {
    children: Vec<(String, Child)>,
}

impl ProcessGuard {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts `cmd` as `name` (not taken by a live process of this guard).
    pub fn spawn(&mut self, name: &str, cmd: &mut Command) -> &mut Child {
        assert!(!self.contains(name), "{name} is already running");
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name} ({cmd:?}): {e}"));
        self.children.push((name.to_owned(), child));
        &mut self.children.last_mut().expect("just pushed").1
    }

    /// Whether `name` was started and not killed or stopped since.
    pub fn contains(&self, name: &str) -> bool {
        self.children.iter().any(|(n, _)| n == name)
    }

    /// The names of the processes held.
    pub fn names(&self) -> Vec<String> {
        self.children.iter().map(|(n, _)| n.clone()).collect()
    }

    /// The pid of `name`.
    pub fn pid(&self, name: &str) -> u32 {
        self.children
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c.id())
            .unwrap_or_else(|| panic!("no process {name}"))
    }

    /// Sends `signal` to `name`, by pid.
    pub fn signal(&self, name: &str, signal: Signal) {
        let status = Command::new("kill")
            .arg(format!("-{}", signal.name()))
            .arg(self.pid(name).to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{} {name}", signal.name());
    }

    fn take(&mut self, name: &str) -> Child {
        let pos = self
            .children
            .iter()
            .position(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no process {name}"));
        self.children.remove(pos).1
    }

    /// SIGKILLs `name` and reaps it.
    pub fn kill(&mut self, name: &str) {
        let mut child = self.take(name);
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
    }

    /// SIGTERMs `name` and waits up to `timeout` for it to exit; its exit
    /// status. Past the timeout it is killed and the call panics.
    pub fn terminate(&mut self, name: &str, timeout: Duration) -> ExitStatus {
        self.signal(name, Signal::Term);
        let mut child = self.take(name);
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(exit) = child.try_wait().expect("wait") {
                return exit;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{name} did not stop within {timeout:?} of SIGTERM");
            }
            std::thread::sleep(EXIT_POLL);
        }
    }

    /// SIGKILLs and reaps every process held.
    pub fn kill_all(&mut self) {
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.children.clear();
    }
}

impl Drop for ProcessGuard {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// Runs `cmd` to the end, collecting its output; killed (and the call
/// panics) if it takes longer than `timeout`.
pub fn run_bounded(cmd: &mut Command, timeout: Duration) -> Output {
    let mut guard = ProcessGuard::new();
    let child = guard.spawn(
        "command",
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "{cmd:?} took longer than {timeout:?}"
        );
        std::thread::sleep(EXIT_POLL);
    };
    guard.children.clear();
    Output {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}
