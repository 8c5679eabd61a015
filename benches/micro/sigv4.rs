//! SigV4 verification through s3s 0.14, the parser and authenticator the
//! gateway uses (its `sig_v4` module is private, so verification is measured
//! through `S3Service::call`). Three cases on a HeadBucket request whose
//! handler answers NotImplemented at once:
//!
//! - `s3s/anonymous`: no signature (request parsing, routing, s3s's access
//!   check refusing it with AccessDenied, the answer);
//! - `s3s/signed-header`: SigV4 in the Authorization header, UNSIGNED-PAYLOAD;
//!   the difference to `anonymous` is the cost of verifying the signature
//!   (canonical request, SHA-256, the HMAC chain, the secret-key lookup);
//! - `aws-sigv4/sign`: signing the same request (the client's cost), for scale.

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use criterion::{Criterion, criterion_group, criterion_main};
use s3s::S3;
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};
use std::hint::black_box;
use std::time::SystemTime;

const ACCESS_KEY: &str = "CAIRNBENCHACCESSKEY1";
const SECRET_KEY: &str = "cairn-bench-secret-key/0123456789abcdefgh";
const REGION: &str = "us-east-1";
const HOST: &str = "127.0.0.1:9000";
const PATH: &str = "/benchmark-bucket";

/// An S3 implementation with no operation: every call answers NotImplemented.
struct NothingImplemented;

#[async_trait::async_trait]
impl S3 for NothingImplemented {}

fn service() -> S3Service {
    let mut builder = S3ServiceBuilder::new(NothingImplemented);
    builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
    builder.build()
}

/// The headers of the signed HeadBucket request (signed once; s3s accepts a
/// signature for 15 minutes, far longer than a benchmark).
fn signed_headers(identity: &Identity) -> Vec<(String, String)> {
    let mut request = http::Request::builder()
        .method("HEAD")
        .uri(format!("http://{HOST}{PATH}"))
        .header("host", HOST)
        .header("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
        .body(())
        .expect("request");
    let (instructions, _) = sign(signable(&request), &params(identity))
        .expect("sign")
        .into_parts();
    instructions.apply_to_request_http1x(&mut request);
    request
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().expect("ascii").to_owned()))
        .collect()
}

fn signable(request: &http::Request<()>) -> SignableRequest<'_> {
    SignableRequest::new(
        "HEAD",
        request.uri().to_string(),
        request
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str(), v.to_str().expect("ascii"))),
        SignableBody::UnsignedPayload,
    )
    .expect("signable")
}

fn params(identity: &Identity) -> aws_sigv4::http_request::SigningParams<'_> {
    v4::SigningParams::builder()
        .identity(identity)
        .region(REGION)
        .name("s3")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .expect("params")
        .into()
}

fn request(headers: &[(String, String)]) -> s3s::HttpRequest {
    let mut builder = http::Request::builder().method("HEAD").uri(PATH);
    for (n, v) in headers {
        builder = builder.header(n, v);
    }
    builder.body(s3s::Body::empty()).expect("request")
}

fn sigv4(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let service = service();
    let identity: Identity = Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "bench").into();
    let signed = signed_headers(&identity);
    let anonymous = vec![
        ("host".to_owned(), HOST.to_owned()),
        (
            "x-amz-content-sha256".to_owned(),
            "UNSIGNED-PAYLOAD".to_owned(),
        ),
    ];
    // The signed request must pass verification and reach the handler
    // (NotImplemented); the anonymous one is parsed, routed and refused by
    // s3s's access check (AccessDenied), without any signature work.
    for (headers, status) in [
        (&signed, http::StatusCode::NOT_IMPLEMENTED),
        (&anonymous, http::StatusCode::FORBIDDEN),
    ] {
        let answer = runtime
            .block_on(service.call(request(headers)))
            .expect("answer");
        assert_eq!(answer.status(), status, "{headers:?}");
    }
    let mut group = c.benchmark_group("sigv4");
    group.bench_function("s3s/anonymous", |b| {
        b.iter(|| runtime.block_on(service.call(black_box(request(&anonymous)))))
    });
    group.bench_function("s3s/signed-header", |b| {
        b.iter(|| runtime.block_on(service.call(black_box(request(&signed)))))
    });
    let unsigned = http::Request::builder()
        .method("HEAD")
        .uri(format!("http://{HOST}{PATH}"))
        .header("host", HOST)
        .header("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
        .body(())
        .expect("request");
    group.bench_function("aws-sigv4/sign", |b| {
        b.iter(|| sign(signable(black_box(&unsigned)), &params(&identity)).expect("sign"))
    });
    group.finish();
}

criterion_group!(benches, sigv4);
criterion_main!(benches);
