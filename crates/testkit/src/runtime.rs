//! Time and runtimes for tests: the kit's own background runtime (in-process
//! servers and the kit's HTTP probes run there, so every kit call works from
//! synchronous and asynchronous test code alike), a runtime for tests that
//! drive async clients from synchronous code, and the bounded waits
//! (`wait_until`, `within`).

use std::future::Future;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Worker threads of the kit's runtime (in-process servers run on it).
const KIT_WORKER_THREADS: usize = 4;
/// Worker threads of [`runtime`].
const TEST_WORKER_THREADS: usize = 2;
/// Pause between two checks of [`wait_until`].
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

fn kit_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(KIT_WORKER_THREADS)
            .thread_name("cairn-testkit")
            .enable_all()
            .build()
            .expect("the test kit's runtime")
    })
}

/// Runs `f` on the kit's runtime and waits for it; a panic inside `f` comes
/// back as `Err` with its message. Callable from any thread, inside a runtime
/// or not (never from a task of the kit's own runtime).
pub fn try_block<F>(f: F) -> Result<F::Output, String>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let task = kit_runtime().spawn(f);
    futures::executor::block_on(task).map_err(|e| match e.try_into_panic() {
        Ok(panic) => panic_message(&*panic),
        Err(e) => format!("the task did not finish: {e}"),
    })
}

/// Like [`try_block`], passing a panic on to the caller.
pub fn block<F>(f: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    try_block(f).unwrap_or_else(|why| panic!("{why}"))
}

/// The text of a panic payload.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".into()
    }
}

/// A two-worker multi-thread runtime, for tests that drive async clients
/// from synchronous test code.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(TEST_WORKER_THREADS)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Polls `check` every [`POLL_INTERVAL`] until it holds; panics naming `what`
/// once `timeout` has passed.
pub fn wait_until(timeout: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Awaits `f`, panicking with `what` when it takes longer than `limit`.
pub async fn within<T>(limit: Duration, what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, f)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {limit:?}"))
}
