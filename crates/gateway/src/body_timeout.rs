//! A request body that gives up on a stalled client: `IdleTimeoutBody`
//! wraps the incoming body and fails with a RequestTimeout error when the
//! client has sent nothing for `s3.client_read_timeout_secs` while the
//! gateway waits for it. The clock runs only while the gateway asks for
//! bytes, so a handler busy with storage never times its own client out.
//! `errors::body_error` turns the failure into `400 RequestTimeout`.

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Sleep;

/// What the error of a stalled body says; `errors::body_error` looks for it.
pub const REQUEST_TIMEOUT_MARKER: &str = "RequestTimeout";

/// `inner`, failing when a frame takes longer than `timeout` to arrive.
pub struct IdleTimeoutBody<B> {
    inner: B,
    timeout: Duration,
    /// Armed while a frame is awaited; cleared when one arrives.
    waiting: Option<Pin<Box<Sleep>>>,
}

impl<B> IdleTimeoutBody<B> {
    pub fn new(inner: B, timeout: Duration) -> Self {
        Self {
            inner,
            timeout,
            waiting: None,
        }
    }
}

impl<B> Body for IdleTimeoutBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                self.waiting = None;
                Poll::Ready(frame.map(|r| r.map_err(Into::into)))
            }
            Poll::Pending => {
                let timeout = self.timeout;
                let sleep = self
                    .waiting
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.waiting = None;
                Poll::Ready(Some(Err(format!(
                    "{REQUEST_TIMEOUT_MARKER}: the client sent no request body bytes for {} s",
                    timeout.as_secs()
                )
                .into())))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn a_body_that_stops_sending_times_out() {
        let (mut tx, rx) =
            futures::channel::mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(4);
        tx.try_send(Ok(Frame::data(Bytes::from_static(b"abc"))))
            .expect("room");
        let mut body = IdleTimeoutBody::new(
            http_body_util::StreamBody::new(rx),
            Duration::from_millis(300),
        );
        let first = body.frame().await.expect("a frame").expect("data");
        assert_eq!(first.into_data().ok(), Some(Bytes::from_static(b"abc")));
        let started = std::time::Instant::now();
        let err = body.frame().await.expect("an answer").expect_err("stalled");
        assert!(err.to_string().starts_with(REQUEST_TIMEOUT_MARKER), "{err}");
        assert!(started.elapsed() >= Duration::from_millis(300));
        drop(tx);
    }
}
