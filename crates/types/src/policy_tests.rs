use super::*;

/// A request over plain HTTP with no address or prefix.
const NONE: RequestContext = RequestContext {
    secure_transport: false,
    source_ip: None,
    prefix: None,
};

const PUBLIC_SITE: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [{
    "Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
    "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::site/public/*"]
  }]
}"#;

#[test]
fn a_public_prefix_is_readable_by_anyone_and_nothing_else_is() {
    let p = parse(PUBLIC_SITE, "site").expect("parses");
    assert_eq!(
        p.decide(&NONE, None, Action::GetObject, Some("public/index.html")),
        Decision::Allow
    );
    assert_eq!(
        p.decide(&NONE, None, Action::GetObject, Some("private/x")),
        Decision::Silent
    );
    assert_eq!(
        p.decide(&NONE, None, Action::PutObject, Some("public/x")),
        Decision::Silent
    );
    assert_eq!(
        p.decide(&NONE, None, Action::ListBucket, None),
        Decision::Silent
    );
    assert_eq!(
        p.decide(&NONE, Some("CKANY"), Action::GetObject, Some("public/a")),
        Decision::Allow
    );
}

#[test]
fn deny_wins_and_names_keys() {
    let doc = r#"{"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ["CKUPLOADER"]}, "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"},
        {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam:::user/CKUPLOADER"}, "Action": "s3:*", "Resource": "arn:aws:s3:::b/secret*"}
    ]}"#;
    let p = parse(doc, "b").expect("parses");
    assert_eq!(
        p.decide(&NONE, Some("CKUPLOADER"), Action::PutObject, Some("in/x")),
        Decision::Allow
    );
    assert_eq!(
        p.decide(
            &NONE,
            Some("CKUPLOADER"),
            Action::PutObject,
            Some("secret/x")
        ),
        Decision::Deny
    );
    assert_eq!(
        p.decide(&NONE, Some("CKOTHER"), Action::PutObject, Some("in/x")),
        Decision::Silent
    );
    assert_eq!(
        p.decide(&NONE, None, Action::PutObject, Some("in/x")),
        Decision::Silent
    );
    assert!(p.denies_any(&NONE, Some("CKUPLOADER"), Action::DeleteObject));
    assert!(!p.denies_any(&NONE, Some("CKOTHER"), Action::DeleteObject));
}

#[test]
fn what_is_outside_the_subset_is_not_implemented_and_nonsense_is_malformed() {
    let ni = |doc: &str| matches!(parse(doc, "b"), Err(PolicyError::NotImplemented(_)));
    let bad = |doc: &str| matches!(parse(doc, "b"), Err(PolicyError::Malformed(_)));
    assert!(ni(
        r#"{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*", "Condition": {"StringEquals": {"aws:UserAgent": "x"}}}]}"#
    ));
    assert!(bad(
        r#"{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*", "Condition": {"IpAddress": {}}}]}"#
    ));
    assert!(ni(
        r#"{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetBucketAcl", "Resource": "arn:aws:s3:::b"}]}"#
    ));
    assert!(ni(
        r#"{"Statement": [{"Effect": "Allow", "Principal": {"Service": "x"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}"#
    ));
    assert!(ni(
        r#"{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*.jpg"}]}"#
    ));
    assert!(bad("not json"));
    assert!(bad(r#"{"Statement": []}"#));
    assert!(bad(
        r#"{"Statement": [{"Effect": "Maybe", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}"#
    ));
    assert!(bad(
        r#"{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::other/*"}]}"#
    ));
    assert!(bad(
        r#"{"Version": "1999-01-01", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}"#
    ));
}

#[test]
fn a_statement_applies_only_where_its_conditions_hold() {
    let doc = r#"{"Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Effect": "Allow", "Principal": "*", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b",
         "Condition": {"StringLike": {"s3:prefix": "public/*"}}}
    ]}"#;
    let p = parse(doc, "b").expect("parses");
    let tls = |prefix: Option<&str>| RequestContext {
        secure_transport: true,
        source_ip: None,
        prefix: prefix.map(str::to_string),
    };
    assert_eq!(
        p.decide(&NONE, Some("CK"), Action::GetObject, Some("k")),
        Decision::Deny
    );
    assert_eq!(
        p.decide(&tls(None), Some("CK"), Action::GetObject, Some("k")),
        Decision::Silent
    );
    assert!(p.denies_any(&NONE, Some("CK"), Action::DeleteObject));
    assert!(!p.denies_any(&tls(None), Some("CK"), Action::DeleteObject));
    assert_eq!(
        p.decide(&tls(Some("public/a")), None, Action::ListBucket, None),
        Decision::Allow
    );
    assert_eq!(
        p.decide(&tls(Some("private/")), None, Action::ListBucket, None),
        Decision::Silent
    );
    assert_eq!(
        p.decide(&tls(None), None, Action::ListBucket, None),
        Decision::Silent
    );
}
