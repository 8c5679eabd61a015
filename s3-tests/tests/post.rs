//! PostObject: browser form uploads (`multipart/form-data`) with a POST policy
//! signed with SigV4 — a good upload lands with the form's metadata and the
//! asked-for status; a bad signature, an expired policy, a key outside the
//! policy's conditions and a file outside its size range are refused with
//! AWS's codes (a failed policy condition as s3s answers it, see below), and
//! nothing is stored.

use std::time::{Duration, SystemTime};

use aws_sigv4::sign::v4::{calculate_signature, generate_signing_key};
use base64::Engine as _;
use cairn_s3_tests::*;

const BOUNDARY: &str = "----cairn-post-test-boundary-7f3a";
/// Largest file the test policies allow.
const MAX_FILE: usize = 64 * KIB;
const POLICY_VALIDITY: Duration = Duration::from_secs(10 * 60);

fn amz_date(t: SystemTime) -> (String, String) {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let dt = time_of(secs);
    (dt.0, dt.1)
}

/// (yyyymmdd, yyyymmddThhmmssZ) of a Unix time, without a date crate.
fn time_of(secs: u64) -> (String, String) {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    let date = format!("{y:04}{m:02}{d:02}");
    let stamp = format!(
        "{date}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    (date, stamp)
}

fn iso8601(secs: u64) -> String {
    let (date, stamp) = time_of(secs);
    format!(
        "{}-{}-{}T{}:{}:{}.000Z",
        &date[..4],
        &date[4..6],
        &date[6..8],
        &stamp[9..11],
        &stamp[11..13],
        &stamp[13..15]
    )
}

/// A signed POST form for `bucket`: the policy allows keys under
/// `key_prefix` and files up to `MAX_FILE` bytes, and expires at `expires`.
struct Form {
    fields: Vec<(String, String)>,
}

impl Form {
    fn signed(
        t: &Target,
        bucket: &str,
        key_prefix: &str,
        expires: SystemTime,
        secret: &str,
    ) -> Self {
        let now = SystemTime::now();
        let (date, stamp) = amz_date(now);
        let credential = format!("{}/{date}/{}/s3/aws4_request", t.access_key, t.region);
        let exp_secs = expires
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        let policy = format!(
            r#"{{"expiration":"{}","conditions":[{{"bucket":"{bucket}"}},["starts-with","$key","{key_prefix}"],["starts-with","$Content-Type",""],["content-length-range",0,{MAX_FILE}],{{"x-amz-algorithm":"AWS4-HMAC-SHA256"}},{{"x-amz-credential":"{credential}"}},{{"x-amz-date":"{stamp}"}},["starts-with","$success_action_status",""],["starts-with","$x-amz-meta-origin",""]]}}"#,
            iso8601(exp_secs)
        );
        let policy_b64 = base64::engine::general_purpose::STANDARD.encode(policy);
        let key = generate_signing_key(secret, now, &t.region, "s3");
        let signature = calculate_signature(key, policy_b64.as_bytes());
        let fields = vec![
            ("x-amz-algorithm".into(), "AWS4-HMAC-SHA256".into()),
            ("x-amz-credential".into(), credential),
            ("x-amz-date".into(), stamp),
            ("policy".into(), policy_b64),
            ("x-amz-signature".into(), signature),
        ];
        Self { fields }
    }

    fn field(mut self, name: &str, value: &str) -> Self {
        self.fields.push((name.into(), value.into()));
        self
    }

    /// The multipart body: the fields, then the file (which S3 wants last).
    fn body(&self, file: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, value) in &self.fields {
            out.extend_from_slice(
                format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        out.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"upload.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        out.extend_from_slice(file);
        out.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        out
    }
}

async fn post(t: &Target, bucket: &str, form: &Form, file: &[u8]) -> (u16, String) {
    let resp = reqwest::Client::new()
        .post(format!("{}/{bucket}", t.endpoint))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(form.body(file))
        .send()
        .await
        .expect("POST reaches the server");
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

/// Posts `form` with `file` and checks the answer is the S3 error `code`
/// with HTTP `status`; answers the answer's body.
async fn post_refused(
    t: &Target,
    bucket: &str,
    (form, file): (&Form, &[u8]),
    status: u16,
    code: &str,
) -> String {
    let (got, text) = post(t, bucket, form, file).await;
    assert_eq!((got, code_of(&text).as_str()), (status, code), "{text}");
    text
}

fn code_of(xml: &str) -> String {
    xml_tag_values(xml, "Code")
        .into_iter()
        .next()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_signed_form_upload_is_stored_with_its_fields() {
    with_bucket("post-ok", async |c, bucket| {
        let t = target();
        let expires = SystemTime::now() + POLICY_VALIDITY;
        let data = random_bytes(10 * KIB);
        let form = Form::signed(t, bucket, "uploads/", expires, &t.secret_key)
            .field("key", "uploads/photo.bin")
            .field("Content-Type", "image/png")
            .field("x-amz-meta-origin", "browser");
        let (status, text) = post(t, bucket, &form, &data).await;
        assert_eq!(status, 204, "{text}");
        let got = get_object(c, bucket, "uploads/photo.bin").await;
        assert_eq!(got.content_type(), Some("image/png"));
        assert_eq!(meta(got.metadata(), "origin"), Some("browser"));
        assert_eq!(got.e_tag(), Some(etag_of(&data).as_str()));
        assert_eq!(collect_body(got).await, data);

        // success_action_status=201 answers the PostResponse XML.
        let form = Form::signed(t, bucket, "uploads/", expires, &t.secret_key)
            .field("key", "uploads/second.bin")
            .field("success_action_status", "201");
        let (status, text) = post(t, bucket, &form, b"second").await;
        assert_eq!(status, 201, "{text}");
        assert_eq!(xml_tag_values(&text, "Key"), vec!["uploads/second.bin"]);
        assert_eq!(xml_tag_values(&text, "Bucket"), vec![bucket]);
    })
    .await
}

#[tokio::test]
async fn bad_forms_are_refused_and_store_nothing() {
    with_bucket("post-bad", async |c, bucket| {
        let t = target();
        let expires = SystemTime::now() + POLICY_VALIDITY;

        let wrong_secret = Form::signed(
            t,
            bucket,
            "uploads/",
            expires,
            "not-the-secret-key-at-all-0000000000000",
        )
        .field("key", "uploads/a");
        post_refused(
            t,
            bucket,
            (&wrong_secret, b"a"),
            403,
            "SignatureDoesNotMatch",
        )
        .await;

        let expired = Form::signed(
            t,
            bucket,
            "uploads/",
            SystemTime::now() - Duration::from_secs(60),
            &t.secret_key,
        )
        .field("key", "uploads/b");
        post_refused(t, bucket, (&expired, b"b"), 403, "AccessDenied").await;

        let outside =
            Form::signed(t, bucket, "uploads/", expires, &t.secret_key).field("key", "elsewhere/c");
        // A failed condition: 403 AccessDenied ("Invalid according to
        // Policy"), naming the condition.
        let text = post_refused(t, bucket, (&outside, b"c"), 403, "AccessDenied").await;
        assert!(text.contains("Invalid according to Policy"), "{text}");
        assert!(text.contains("starts-with"), "{text}");

        let too_big =
            Form::signed(t, bucket, "uploads/", expires, &t.secret_key).field("key", "uploads/d");
        post_refused(
            t,
            bucket,
            (&too_big, &random_bytes(MAX_FILE + 1)),
            400,
            "EntityTooLarge",
        )
        .await;

        let listed = list_v2(c, bucket).await;
        assert_eq!(listed.key_count(), Some(0), "nothing was stored");
    })
    .await
}

#[test]
fn dates_are_civil() {
    assert_eq!(time_of(0), ("19700101".into(), "19700101T000000Z".into()));
    assert_eq!(
        time_of(1_795_000_000),
        ("20261118".into(), "20261118T110640Z".into())
    );
    assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00.000Z");
}
