//! Cross-origin resource sharing: the bucket CORS calls (Put/Get/Delete
//! BucketCors, kept in meta), browser preflights (`OPTIONS` on a bucket or an
//! object, answered here, unsigned, before s3s sees the request), and the
//! `Access-Control-*` headers added to S3 responses of requests that carry an
//! `Origin` matching a rule. Buckets are addressed path-style.

use crate::errors::meta_error;
use crate::gateway::Gateway;
use axum::response::Response;
use cairn_rpc::MetaCommand;
use cairn_rpc::MetaError;
use cairn_rpc::meta_reads as reads;
use cairn_types::cors::CorsError;
use cairn_types::limits::MAX_CORS_CONFIG_BYTES;
use cairn_types::{CorsConfiguration, CorsRule};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use s3s::dto::{
    CORSRule, DeleteBucketCorsInput, DeleteBucketCorsOutput, GetBucketCorsInput,
    GetBucketCorsOutput, PutBucketCorsInput, PutBucketCorsOutput,
};
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result, s3_error};

const ORIGIN: &str = "origin";
const REQUEST_METHOD: &str = "access-control-request-method";
const REQUEST_HEADERS: &str = "access-control-request-headers";
/// What every CORS answer varies by, so caches keep them apart.
const VARY: &str = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method";

fn from_dto(rule: CORSRule) -> CorsRule {
    CorsRule {
        id: rule.id,
        allowed_origins: rule.allowed_origins,
        allowed_methods: rule.allowed_methods,
        allowed_headers: rule.allowed_headers.unwrap_or_default(),
        expose_headers: rule.expose_headers.unwrap_or_default(),
        max_age_seconds: rule.max_age_seconds,
    }
}

fn to_dto(rule: CorsRule) -> CORSRule {
    let some = |v: Vec<String>| (!v.is_empty()).then_some(v);
    CORSRule {
        id: rule.id,
        allowed_origins: rule.allowed_origins,
        allowed_methods: rule.allowed_methods,
        allowed_headers: some(rule.allowed_headers),
        expose_headers: some(rule.expose_headers),
        max_age_seconds: rule.max_age_seconds,
    }
}

fn invalid(e: CorsError) -> S3Error {
    let code = match e {
        CorsError::RuleCount | CorsError::MissingOriginOrMethod => S3ErrorCode::MalformedXML,
        _ => S3ErrorCode::InvalidRequest,
    };
    S3Error::with_message(code, e.to_string())
}

pub async fn put_bucket_cors(
    gw: &Gateway,
    req: S3Request<PutBucketCorsInput>,
) -> S3Result<S3Response<PutBucketCorsOutput>> {
    let sent = req
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if sent.is_some_and(|len| len > MAX_CORS_CONFIG_BYTES) {
        return Err(s3_error!(
            MaxMessageLengthExceeded,
            "a CORS configuration is at most {MAX_CORS_CONFIG_BYTES} bytes"
        ));
    }
    let config = CorsConfiguration {
        rules: req
            .input
            .cors_configuration
            .cors_rules
            .into_iter()
            .map(from_dto)
            .collect(),
    };
    config.validate().map_err(invalid)?;
    gw.meta()
        .write(&MetaCommand::SetBucketCors {
            bucket: req.input.bucket.clone(),
            config: Some(config),
        })
        .await
        .map_err(meta_error)?;
    Ok(S3Response::new(PutBucketCorsOutput::default()))
}

pub async fn get_bucket_cors(
    gw: &Gateway,
    req: S3Request<GetBucketCorsInput>,
) -> S3Result<S3Response<GetBucketCorsOutput>> {
    let config = gw
        .meta()
        .read(reads::GetBucketCors {
            bucket: req.input.bucket.to_string(),
        })
        .await
        .map_err(meta_error)?
        .ok_or_else(|| {
            s3_error!(
                NoSuchCORSConfiguration,
                "The CORS configuration does not exist"
            )
        })?;
    Ok(S3Response::new(GetBucketCorsOutput {
        cors_rules: Some(config.rules.into_iter().map(to_dto).collect()),
    }))
}

pub async fn delete_bucket_cors(
    gw: &Gateway,
    req: S3Request<DeleteBucketCorsInput>,
) -> S3Result<S3Response<DeleteBucketCorsOutput>> {
    gw.meta()
        .write(&MetaCommand::SetBucketCors {
            bucket: req.input.bucket.clone(),
            config: None,
        })
        .await
        .map_err(meta_error)?;
    let mut resp = S3Response::new(DeleteBucketCorsOutput::default());
    resp.status = Some(StatusCode::NO_CONTENT);
    Ok(resp)
}

/// The bucket of a path-style request path (`/bucket/key...`), if any.
pub fn bucket_of(path: &str) -> Option<&str> {
    let bucket = path.trim_start_matches('/').split('/').next()?;
    (!bucket.is_empty()).then_some(bucket)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// An S3 error document (the HTTP front adds the request id).
fn error(status: StatusCode, code: &str, message: &str) -> http::Response<s3s::Body> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    let mut resp = http::Response::new(s3s::Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    resp
}

/// Sets the `Access-Control-*` headers a matched rule grants `origin`.
fn grant(headers: &mut HeaderMap, rule: &CorsRule, origin: &str) {
    let mut set = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    if rule.any_origin() {
        set("access-control-allow-origin", "*");
    } else {
        set("access-control-allow-origin", origin);
        set("access-control-allow-credentials", "true");
    }
    set(
        "access-control-allow-methods",
        &rule.allowed_methods.join(", "),
    );
    if !rule.expose_headers.is_empty() {
        set(
            "access-control-expose-headers",
            &rule.expose_headers.join(", "),
        );
    }
    if let Some(age) = rule.max_age_seconds {
        set("access-control-max-age", &age.to_string());
    }
    set("vary", VARY);
}

/// Answers a browser's preflight `OPTIONS` request.
pub async fn preflight(gw: &Gateway, path: &str, headers: &HeaderMap) -> http::Response<s3s::Body> {
    let (Some(origin), Some(method)) = (header(headers, ORIGIN), header(headers, REQUEST_METHOD))
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Insufficient information. Origin request header needed.",
        );
    };
    let Some(bucket) = bucket_of(path) else {
        return error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "A CORS preflight request names a bucket.",
        );
    };
    let asked: Vec<String> = header(headers, REQUEST_HEADERS)
        .map(|h| {
            h.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let config = match gw
        .meta()
        .read(reads::GetBucketCors {
            bucket: bucket.to_string(),
        })
        .await
    {
        Ok(Some(c)) => c,
        Ok(None) => {
            return error(
                StatusCode::FORBIDDEN,
                "AccessForbidden",
                "CORSResponse: CORS is not enabled for this bucket.",
            );
        }
        Err(MetaError::NoSuchBucket) => {
            return error(
                StatusCode::NOT_FOUND,
                "NoSuchBucket",
                "The specified bucket does not exist",
            );
        }
        Err(e) => {
            let e = meta_error(e);
            let status = e.status_code().unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            return error(status, e.code().as_str(), "Please try again.");
        }
    };
    let Some(rule) = config.find_rule(origin, method, &asked) else {
        return error(
            StatusCode::FORBIDDEN,
            "AccessForbidden",
            "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
        );
    };
    let mut resp = http::Response::new(s3s::Body::empty());
    grant(resp.headers_mut(), rule, origin);
    if !asked.is_empty()
        && let Ok(v) = HeaderValue::from_str(&asked.join(", "))
    {
        resp.headers_mut().insert("access-control-allow-headers", v);
    }
    resp
}

/// Adds the CORS grant to the response of an S3 request carrying `Origin`,
/// when the bucket has a rule for that origin and method. A failure to read
/// the configuration only leaves the headers out.
pub async fn decorate(
    gw: &Gateway,
    path: &str,
    method: &Method,
    origin: &str,
    resp: &mut Response,
) {
    let Some(bucket) = bucket_of(path) else {
        return;
    };
    let Ok(Some(config)) = gw
        .meta()
        .read(reads::GetBucketCors {
            bucket: bucket.to_string(),
        })
        .await
    else {
        return;
    };
    if let Some(rule) = config.find_rule(origin, method.as_str(), &[]) {
        grant(resp.headers_mut(), rule, origin);
    }
}

/// The `Origin` of a request, when it has one worth answering.
pub fn origin_of(headers: &HeaderMap) -> Option<String> {
    header(headers, ORIGIN).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_come_from_path_style_paths() {
        assert_eq!(bucket_of("/photos/a/b.jpg"), Some("photos"));
        assert_eq!(bucket_of("/photos"), Some("photos"));
        assert_eq!(bucket_of("/"), None);
    }

    #[test]
    fn grants_name_the_origin_unless_any_origin_is_allowed() {
        let mut rule = CorsRule {
            id: None,
            allowed_origins: vec!["https://app.example".into()],
            allowed_methods: vec!["GET".into(), "PUT".into()],
            allowed_headers: vec![],
            expose_headers: vec!["ETag".into()],
            max_age_seconds: Some(600),
        };
        let mut h = HeaderMap::new();
        grant(&mut h, &rule, "https://app.example");
        assert_eq!(h["access-control-allow-origin"], "https://app.example");
        assert_eq!(h["access-control-allow-credentials"], "true");
        assert_eq!(h["access-control-allow-methods"], "GET, PUT");
        assert_eq!(h["access-control-expose-headers"], "ETag");
        assert_eq!(h["access-control-max-age"], "600");
        rule.allowed_origins = vec!["*".into()];
        let mut h = HeaderMap::new();
        grant(&mut h, &rule, "https://app.example");
        assert_eq!(h["access-control-allow-origin"], "*");
        assert!(h.get("access-control-allow-credentials").is_none());
    }
}
