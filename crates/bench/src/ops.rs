//! The timed S3 operations of a run, each returning the [`Sample`] it
//! contributes: PUT, GET (the whole body read, its length always checked, its
//! bytes with `--verify`), HEAD, DELETE, one ListObjectsV2 page, and a whole
//! multipart upload (each part also timed on its own).

use crate::client::error_code;
use crate::payload::{ObjectInfo, PAYLOAD_OFFSETS, Payload};
use crate::stats::{OpKind, Sample};
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use std::time::{Duration, Instant};

/// Error code counted when a GET returns fewer or more bytes than were written.
pub const LENGTH_MISMATCH: &str = "LengthMismatch";
/// Error code counted when `--verify` finds a GET body differing from what was written.
pub const CONTENT_MISMATCH: &str = "ContentMismatch";
/// Error code counted when a GET body breaks off.
pub const BODY_READ_ERROR: &str = "BodyReadError";
/// Error code counted when a GET body is not read within the request bound.
pub const BODY_TIMEOUT: &str = "BodyTimeout";
/// Error code counted when an answer lacks a field S3 promises (e.g. an upload id).
pub const MALFORMED_ANSWER: &str = "MalformedAnswer";

/// What every operation of a run shares.
pub struct Session {
    pub client: Client,
    pub bucket: String,
    pub payload: Payload,
    /// Start of the measured phase: sample end times count from here.
    pub start: Instant,
    /// Compare every byte of GET bodies with what was written.
    pub verify: bool,
    /// Sign PUT and UploadPart bodies (SHA-256) instead of sending UNSIGNED-PAYLOAD.
    pub sign_payload: bool,
    /// Bound of one request, body included.
    pub op_timeout: Duration,
}

impl Session {
    fn sample(
        &self,
        kind: OpKind,
        began: Instant,
        bytes: u64,
        outcome: Result<(), String>,
    ) -> Sample {
        let now = Instant::now();
        Sample {
            kind,
            end: now.saturating_duration_since(self.start),
            latency: now.saturating_duration_since(began),
            bytes,
            entries: 0,
            outcome,
        }
    }

    /// Writes `obj` with one PutObject.
    pub async fn put(&self, obj: &ObjectInfo) -> Sample {
        let body = self.payload.body(obj.size, obj.offset);
        let began = Instant::now();
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&obj.key)
            .content_length(body.len() as i64)
            .body(ByteStream::from(body));
        let result = if self.sign_payload {
            request.send().await
        } else {
            request.customize().disable_payload_signing().send().await
        };
        let outcome = result.map(|_| ()).map_err(|e| error_code(&e));
        self.sample(OpKind::Put, began, obj.size, outcome)
    }

    /// Reads `obj` to its end; the time includes the whole body.
    pub async fn get(&self, obj: &ObjectInfo) -> Sample {
        let began = Instant::now();
        let outcome = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&obj.key)
            .send()
            .await
        {
            // The SDK's operation timeout ends with the response head; the
            // body gets what is left of the same bound.
            Ok(answer) => {
                let left = self.op_timeout.saturating_sub(began.elapsed());
                match tokio::time::timeout(left, self.read_body(obj, answer.body)).await {
                    Ok(read) => read,
                    Err(_) => Err(BODY_TIMEOUT.to_owned()),
                }
            }
            Err(e) => Err(error_code(&e)),
        };
        self.sample(OpKind::Get, began, obj.size, outcome)
    }

    async fn read_body(&self, obj: &ObjectInfo, mut body: ByteStream) -> Result<(), String> {
        let mut received = 0u64;
        let mut content_ok = true;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|_| BODY_READ_ERROR.to_owned())?;
            if self.verify && content_ok {
                content_ok = self.payload.matches(obj.offset, received, &chunk);
            }
            received += chunk.len() as u64;
        }
        if received != obj.size {
            Err(LENGTH_MISMATCH.to_owned())
        } else if !content_ok {
            Err(CONTENT_MISMATCH.to_owned())
        } else {
            Ok(())
        }
    }

    /// HeadObject of `obj`; the answered length must be the written one.
    pub async fn stat(&self, obj: &ObjectInfo) -> Sample {
        let began = Instant::now();
        let outcome = match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(&obj.key)
            .send()
            .await
        {
            Ok(head) if head.content_length() == Some(obj.size as i64) => Ok(()),
            Ok(_) => Err(LENGTH_MISMATCH.to_owned()),
            Err(e) => Err(error_code(&e)),
        };
        self.sample(OpKind::Stat, began, 0, outcome)
    }

    /// DeleteObject of `key`.
    pub async fn delete(&self, key: &str) -> Sample {
        let began = Instant::now();
        let outcome = self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| error_code(&e));
        self.sample(OpKind::Delete, began, 0, outcome)
    }

    /// One ListObjectsV2 page of `prefix`, continuing from `token`; `token`
    /// becomes the next page's token (None after the last page).
    pub async fn list_page(
        &self,
        prefix: &str,
        page_size: i32,
        token: &mut Option<String>,
    ) -> Sample {
        let began = Instant::now();
        let answer = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .max_keys(page_size)
            .set_continuation_token(token.take())
            .send()
            .await;
        let (entries, outcome) = match answer {
            Ok(page) => {
                if page.is_truncated() == Some(true) {
                    *token = page.next_continuation_token().map(str::to_owned);
                }
                (page.contents().len() as u64, Ok(()))
            }
            Err(e) => (0, Err(error_code(&e))),
        };
        Sample {
            entries,
            ..self.sample(OpKind::List, began, 0, outcome)
        }
    }

    /// Uploads `obj` in parts of `part_size` (create, parts in order,
    /// complete); `obj.size` may exceed the payload, `part_size` may not. Returns the sample of the whole upload and one per part sent.
    /// A failed upload is aborted (best effort).
    pub async fn multipart(&self, obj: &ObjectInfo, part_size: u64) -> Vec<Sample> {
        let began = Instant::now();
        let mut samples = Vec::new();
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(&obj.key)
            .send()
            .await;
        let upload_id = match created {
            Ok(c) => match c.upload_id() {
                Some(id) => id.to_owned(),
                None => {
                    samples.push(self.sample(
                        OpKind::Multipart,
                        began,
                        0,
                        Err(MALFORMED_ANSWER.into()),
                    ));
                    return samples;
                }
            },
            Err(e) => {
                samples.push(self.sample(OpKind::Multipart, began, 0, Err(error_code(&e))));
                return samples;
            }
        };
        let mut completed = Vec::new();
        let mut failure = None;
        for (index, (_, len)) in part_ranges(obj.size, part_size).into_iter().enumerate() {
            let number = index as i32 + 1;
            let part_began = Instant::now();
            // Each part is cut at its own offset, so parts differ from each
            // other while the payload only needs to hold one part.
            let offset = (obj.offset + index as u64 + 1) % PAYLOAD_OFFSETS;
            let body = self.payload.body(len, offset);
            let request = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(&obj.key)
                .upload_id(&upload_id)
                .part_number(number)
                .content_length(len as i64)
                .body(ByteStream::from(body));
            let result = if self.sign_payload {
                request.send().await
            } else {
                request.customize().disable_payload_signing().send().await
            };
            let outcome = match result {
                Ok(part) => {
                    completed.push(
                        CompletedPart::builder()
                            .part_number(number)
                            .set_e_tag(part.e_tag().map(str::to_owned))
                            .build(),
                    );
                    Ok(())
                }
                Err(e) => Err(error_code(&e)),
            };
            let failed = outcome.is_err();
            samples.push(self.sample(OpKind::UploadPart, part_began, len, outcome));
            if failed {
                failure = Some("UploadPartFailed".to_owned());
                break;
            }
        }
        if failure.is_none() {
            let done = self
                .client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(&obj.key)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(completed))
                        .build(),
                )
                .send()
                .await;
            failure = done.err().map(|e| error_code(&e));
        }
        if failure.is_some() {
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(&obj.key)
                .upload_id(&upload_id)
                .send()
                .await;
        }
        let outcome = failure.map_or(Ok(()), Err);
        samples.push(self.sample(OpKind::Multipart, began, obj.size, outcome));
        samples
    }
}

/// The (position, length) of each part of an object of `size` bytes cut
/// into parts of `part_size` (the last part may be shorter; an empty object
/// is one empty part).
pub fn part_ranges(size: u64, part_size: u64) -> Vec<(u64, u64)> {
    let part_size = part_size.max(1);
    if size == 0 {
        return vec![(0, 0)];
    }
    (0..size.div_ceil(part_size))
        .map(|i| {
            let position = i * part_size;
            (position, part_size.min(size - position))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_the_object() {
        assert_eq!(part_ranges(0, 5), vec![(0, 0)]);
        assert_eq!(part_ranges(5, 5), vec![(0, 5)]);
        assert_eq!(part_ranges(11, 5), vec![(0, 5), (5, 5), (10, 1)]);
        assert_eq!(part_ranges(3, 5), vec![(0, 3)]);
    }
}
