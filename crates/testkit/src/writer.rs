//! Load for failure tests: a background stream of PUTs (`Writer`) that keeps
//! going while a test kills, pauses or cuts processes, `verify_writes`,
//! which reads back every write that was acknowledged, and a background
//! stream of verifying GETs (`Reader`).

use crate::s3::get_bytes;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Key of the writer's `i`-th object.
pub fn writer_key(i: usize) -> String {
    format!("w-{i}")
}

/// A background stream of PUTs of keys `w-0`, `w-1`, ... with `body(i)`
/// (use a client with retries off); `finish` gives (acknowledged key
/// numbers, errors).
pub struct Writer {
    stop: Arc<AtomicBool>,
    acked: Arc<AtomicUsize>,
    thread: std::thread::JoinHandle<(Vec<usize>, Vec<String>)>,
}

impl Writer {
    pub fn start(
        client: aws_sdk_s3::Client,
        bucket: &'static str,
        body: fn(usize) -> Vec<u8>,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let acked_count = Arc::new(AtomicUsize::new(0));
        let flag = stop.clone();
        let counter = acked_count.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("writer runtime");
            let (mut acked, mut errors) = (Vec::new(), Vec::new());
            let mut i = 0usize;
            while !flag.load(Ordering::Relaxed) {
                let put = client
                    .put_object()
                    .bucket(bucket)
                    .key(writer_key(i))
                    .body(aws_sdk_s3::primitives::ByteStream::from(body(i)));
                match rt.block_on(put.send()) {
                    Ok(_) => {
                        acked.push(i);
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => errors.push(format!("{}: {e:?}", writer_key(i))),
                }
                i += 1;
            }
            (acked, errors)
        });
        Self {
            stop,
            acked: acked_count,
            thread,
        }
    }

    /// Writes acknowledged so far.
    pub fn acked(&self) -> usize {
        self.acked.load(Ordering::Relaxed)
    }

    /// Stops the stream; (acknowledged key numbers, errors).
    pub fn finish(self) -> (Vec<usize>, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("writer thread")
    }
}

/// Reads back the writer's objects `keys` of `bucket`: each must be `body(i)`.
pub async fn verify_writes(
    c: &aws_sdk_s3::Client,
    bucket: &str,
    keys: &[usize],
    body: fn(usize) -> Vec<u8>,
) {
    for &i in keys {
        let got = get_bytes(c, bucket, &writer_key(i)).await;
        assert!(got == body(i), "{} differs", writer_key(i));
    }
}

/// One object a [`Reader`] checks: `bucket/key` holds `pattern(size, seed)`.
#[derive(Clone, Debug)]
pub struct Expected {
    pub bucket: String,
    pub key: String,
    pub size: usize,
    pub seed: u64,
}

/// A background stream of verifying GETs over `objects`, round-robin,
/// while a test moves data around; `finish` gives (reads, errors: failed
/// GETs and wrong bytes). Use a client with retries off.
pub struct Reader {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<(usize, Vec<String>)>,
}

impl Reader {
    pub fn start(client: aws_sdk_s3::Client, objects: Vec<Expected>) -> Self {
        assert!(!objects.is_empty(), "a reader needs objects to read");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("reader runtime");
            let (mut reads, mut errors) = (0usize, Vec::new());
            let mut i = 0usize;
            while !flag.load(Ordering::Relaxed) {
                let o = &objects[i % objects.len()];
                i += 1;
                let get = client.get_object().bucket(&o.bucket).key(&o.key).send();
                let got = rt.block_on(async move {
                    let out = get.await.map_err(|e| format!("{e:?}"))?;
                    let body = out.body.collect().await.map_err(|e| e.to_string())?;
                    Ok::<_, String>(body.into_bytes())
                });
                reads += 1;
                match got {
                    Ok(bytes) if bytes[..] == crate::data::pattern(o.size, o.seed)[..] => {}
                    Ok(bytes) => errors.push(format!(
                        "{}/{}: {} bytes that differ (want {})",
                        o.bucket,
                        o.key,
                        bytes.len(),
                        o.size
                    )),
                    Err(e) => errors.push(format!("{}/{}: {e}", o.bucket, o.key)),
                }
            }
            (reads, errors)
        });
        Self { stop, thread }
    }

    /// Stops the stream; (reads done, errors).
    pub fn finish(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("reader thread")
    }
}
