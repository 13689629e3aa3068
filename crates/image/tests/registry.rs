//! Scans against a real Distribution registry (Debian's docker-registry) on loopback: anonymous with pagination, htpasswd basic auth, token auth, errors that keep the previous scan.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use flotilla_image::{
    scan, Credentials, DockerConfig, ImageName, Order, Policy, RegistryClient, RegistryError,
    RegistryOptions, Rule, ScanError, ScanOptions, TagStore,
};
use support::{basic, query_param, Registry, RegistryAuth, Stub, TokenIssuer};

fn client(reg: &Registry, repo: &str, creds: Credentials, page: usize) -> RegistryClient {
    let image = ImageName::parse(&format!("{}/{repo}", reg.host())).unwrap();
    RegistryClient::new(
        image,
        RegistryOptions {
            credentials: creds,
            insecure: true,
            timeout: Duration::from_secs(10),
            page_size: page,
            ..RegistryOptions::default()
        },
    )
    .unwrap()
}

#[tokio::test]
async fn anonymous_scan_pages_excludes_and_feeds_the_policy() {
    let reg = Registry::start(RegistryAuth::None);
    reg.push("team/app", "main-d480788-9", None);
    reg.push("team/app", "main-1a2b3c4-10", None);
    reg.push("team/app", "sha256-abc.sig", None);
    let extra: Vec<String> = (0..27).map(|i| format!("feature-{i:03}")).collect();
    reg.add_tags_on_disk(
        "team/app",
        "main-d480788-9",
        extra.iter().map(String::as_str),
    );

    let store_dir = tempfile::tempdir().unwrap();
    let store = TagStore::new(store_dir.path());
    // Debian's registry (distribution 2.8) ignores `n` and lists every tag at once, in no
    // fixed order; pagination is exercised against a spec-following stand-in below.
    let c = client(&reg, "team/app", Credentials::Anonymous, 4);
    let summary = scan(&c, &store, &ScanOptions::default()).await.unwrap();
    assert_eq!(summary.tag_count, 29, "the .sig tag is excluded by default");
    let key = c.image().canonical();
    assert_eq!(key, format!("{}/team/app", reg.host()));
    let mut stored = store.tags(&key).unwrap();
    stored.sort();
    let mut expect: Vec<String> = extra.clone();
    expect.push("main-1a2b3c4-10".into());
    expect.push("main-d480788-9".into());
    expect.sort();
    assert_eq!(stored, expect);
    // latestTags: the 10 greatest in descending byte order.
    let mut desc = expect.clone();
    desc.sort_by(|a, b| b.cmp(a));
    desc.truncate(10);
    assert_eq!(summary.latest_tags, desc);

    // The reference scenario's policy over what was scanned: build 10 beats build 9.
    let policy = Policy::new(
        &Rule::Numerical(Order::Asc),
        Some(&flotilla_image::FilterSpec {
            pattern: Some("^main-[a-f0-9]+-(?P<build>[0-9]+)".into()),
            extract: Some("$build".into()),
        }),
    )
    .unwrap();
    let tags = store.tags(&key).unwrap();
    let pick = policy.latest(tags.iter().map(String::as_str)).unwrap();
    assert_eq!(pick.tag, "main-1a2b3c4-10");

    // A custom exclusion list replaces the default.
    let summary = scan(
        &c,
        &store,
        &ScanOptions {
            exclusion_list: vec!["^feature-".into()],
            ..ScanOptions::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(summary.tag_count, 3);

    // A missing repository is a clear error and the stored tags stay.
    let missing = client(&reg, "team/nope", Credentials::Anonymous, 100);
    let err = scan(&missing, &store, &ScanOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ScanError::Registry(RegistryError::NotFound { .. })),
        "{err}"
    );
    assert_eq!(store.tags(&key).unwrap().len(), 3);
}

#[tokio::test]
async fn htpasswd_basic_auth_from_a_dockerconfigjson_secret() {
    let reg = Registry::start(RegistryAuth::Htpasswd);
    let auth = basic(&reg.user, &reg.password);
    reg.push("app", "v1.0.0", Some(&auth));
    reg.push("app", "v1.1.0", Some(&auth));
    let store_dir = tempfile::tempdir().unwrap();
    let store = TagStore::new(store_dir.path());

    // No credentials: the registry's Basic challenge cannot be answered.
    let anon = client(&reg, "app", Credentials::Anonymous, 100);
    let err = scan(&anon, &store, &ScanOptions::default())
        .await
        .unwrap_err();
    match &err {
        ScanError::Registry(e @ RegistryError::Unauthorized { .. }) => {
            assert_eq!(e.reason(), "AuthenticationFailed")
        }
        other => panic!("want Unauthorized, got {other}"),
    }

    let json = format!(
        r#"{{"auths":{{"http://{}":{{"auth":"{}"}}}}}}"#,
        reg.host(),
        support::b64(format!("{}:{}", reg.user, reg.password).as_bytes())
    );
    let mut data = BTreeMap::new();
    data.insert(".dockerconfigjson".to_string(), json.into_bytes());
    let cfg = DockerConfig::from_secret("flux-system/regcred", &data).unwrap();
    let image = ImageName::parse(&format!("{}/app", reg.host())).unwrap();
    let creds = cfg.credentials_for(&image);
    assert!(matches!(creds, Credentials::Basic { .. }));
    let c = client(&reg, "app", creds, 100);
    let summary = scan(&c, &store, &ScanOptions::default()).await.unwrap();
    assert_eq!(summary.tag_count, 2);
    assert_eq!(summary.latest_tags, vec!["v1.1.0", "v1.0.0"]);

    // Wrong password: refused, message free of the secret, previous tags kept.
    let bad = client(
        &reg,
        "app",
        Credentials::Basic {
            username: reg.user.clone(),
            password: "wrong-password-xyz".into(),
        },
        100,
    );
    let err = scan(&bad, &store, &ScanOptions::default())
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("wrong-password-xyz"));
    assert!(matches!(
        err,
        ScanError::Registry(RegistryError::Unauthorized { .. })
    ));
    assert_eq!(store.tags(&c.image().canonical()).unwrap().len(), 2);
}

#[tokio::test]
async fn bearer_token_challenge_flow() {
    // The token service is a stand-in for a registry auth service (Docker's token protocol,
    // ES256 tokens with x5c); the registry verifying its tokens is the real one.
    let issuer = std::sync::Arc::new(TokenIssuer::new());
    let (service, iss) = ("test-registry", "test-issuer");
    let iss2 = issuer.clone();
    let tokens = Stub::start(Box::new(move |req: &support::StubRequest| {
        let want = basic("robot", "s3cret");
        if req.header("authorization") != Some(want.as_str()) {
            return (401, vec![], b"{\"details\":\"bad credentials\"}".to_vec());
        }
        let scope = query_param(&req.target, "scope").unwrap_or_default();
        assert_eq!(
            query_param(&req.target, "service").as_deref(),
            Some(service)
        );
        let token = iss2.token(iss, service, &scope);
        (
            200,
            vec![("Content-Type".into(), "application/json".into())],
            serde_json::json!({"token": token, "expires_in": 300})
                .to_string()
                .into_bytes(),
        )
    }));
    let reg = Registry::start(RegistryAuth::Token {
        realm: format!("{}/token", tokens.url()),
        service: service.into(),
        issuer: iss.into(),
        cert_pem: issuer.cert_pem.clone(),
    });
    let push_token = issuer.token(iss, service, "repository:team/web:pull,push");
    let bearer = format!("Bearer {push_token}");
    reg.push("team/web", "1.0.0", Some(&bearer));
    reg.push("team/web", "1.2.0", Some(&bearer));

    let store_dir = tempfile::tempdir().unwrap();
    let store = TagStore::new(store_dir.path());
    let creds = Credentials::Basic {
        username: "robot".into(),
        password: "s3cret".into(),
    };
    let c = client(&reg, "team/web", creds, 1);
    let summary = scan(&c, &store, &ScanOptions::default()).await.unwrap();
    assert_eq!(summary.tag_count, 2);
    // One token for the whole paged listing (it is reused, not fetched per page).
    assert_eq!(tokens.count(), 1);
    let scope = query_param(&tokens.requests.lock().unwrap()[0].target, "scope");
    assert_eq!(scope.as_deref(), Some("repository:team/web:pull"));

    let bad = client(
        &reg,
        "team/web",
        Credentials::Basic {
            username: "robot".into(),
            password: "nope".into(),
        },
        100,
    );
    let err = scan(&bad, &store, &ScanOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ScanError::Registry(RegistryError::Unauthorized { .. })),
        "{err}"
    );
}

#[tokio::test]
async fn a_registry_that_never_answers_times_out() {
    // Accepts connections and says nothing.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let _hold = std::thread::spawn(move || {
        let mut conns = Vec::new();
        for c in listener.incoming().take(4) {
            conns.push(c);
        }
        std::thread::sleep(Duration::from_secs(5));
    });
    let image = ImageName::parse(&format!("127.0.0.1:{port}/app")).unwrap();
    let c = RegistryClient::new(
        image,
        RegistryOptions {
            insecure: true,
            timeout: Duration::from_millis(300),
            ..RegistryOptions::default()
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = TagStore::new(dir.path());
    store.set(&c.image().canonical(), ["old"]).unwrap();
    let started = std::time::Instant::now();
    let err = scan(
        &c,
        &store,
        &ScanOptions {
            timeout: Duration::from_secs(2),
            ..ScanOptions::default()
        },
    )
    .await
    .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(err.to_string().contains("no answer within"), "{err}");
    assert_eq!(store.tags(&c.image().canonical()).unwrap(), vec!["old"]);
}

#[tokio::test]
async fn pages_follow_link_headers() {
    // Distribution 2.8 (the registry Debian ships) does not paginate tag lists; this stand-in
    // pages as the distribution spec (and registries such as GHCR, ECR, distribution 3) do:
    // `n` and `last`, with `Link: <...>; rel="next"`, relative or absolute.
    let all: Vec<String> = (0..10).map(|i| format!("t{i:02}")).collect();
    let all2 = all.clone();
    let stub = Stub::start(Box::new(move |req: &support::StubRequest| {
        let n: usize = query_param(&req.target, "n").unwrap().parse().unwrap();
        let last = query_param(&req.target, "last");
        let start = last.map_or(0, |l| all2.iter().position(|t| *t == l).unwrap() + 1);
        let page: Vec<&String> = all2.iter().skip(start).take(n).collect();
        let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
        if start + n < all2.len() {
            let link = format!("/v2/app/tags/list?n={n}&last={}", page.last().unwrap());
            // Alternate relative and absolute links.
            let link = if start % 2 == 0 {
                link
            } else {
                format!(
                    "http://127.0.0.1:{}{link}",
                    req.header("host").unwrap().rsplit(':').next().unwrap()
                )
            };
            headers.push(("Link".to_string(), format!("<{link}>; rel=\"next\"")));
        }
        let body = serde_json::json!({"name": "app", "tags": page}).to_string();
        (200, headers, body.into_bytes())
    }));
    let image = ImageName::parse(&format!("127.0.0.1:{}/app", stub.port)).unwrap();
    let c = RegistryClient::new(
        image,
        RegistryOptions {
            insecure: true,
            page_size: 3,
            ..RegistryOptions::default()
        },
    )
    .unwrap();
    let mut pages = Vec::new();
    let total = c
        .list_tags(|p| {
            pages.push(p.len());
            Ok::<(), ()>(())
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(total, 10);
    assert_eq!(pages, [3, 3, 3, 1]);
    assert_eq!(stub.count(), 4);
    let dir = tempfile::tempdir().unwrap();
    let store = TagStore::new(dir.path());
    scan(&c, &store, &ScanOptions::default()).await.unwrap();
    assert_eq!(store.tags(&c.image().canonical()).unwrap(), all);
}

#[tokio::test]
async fn https_with_the_ca_from_cert_secret_ref() {
    let (reg, ca_pem) = Registry::start_tls(RegistryAuth::None);
    reg.add_listing_only_tags("app", &["v1", "v2"]);
    let image = ImageName::parse(&format!("{}/app", reg.host())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = TagStore::new(dir.path());
    let with_ca = RegistryClient::new(
        image.clone(),
        RegistryOptions {
            ca_pem: Some(ca_pem.into_bytes()),
            timeout: Duration::from_secs(10),
            ..RegistryOptions::default()
        },
    )
    .unwrap();
    let summary = scan(&with_ca, &store, &ScanOptions::default())
        .await
        .unwrap();
    assert_eq!(summary.latest_tags, vec!["v2", "v1"]);

    // Without the CA the certificate is refused; a CA that is not PEM is refused up front.
    let without = RegistryClient::new(
        image.clone(),
        RegistryOptions {
            timeout: Duration::from_secs(10),
            ..RegistryOptions::default()
        },
    )
    .unwrap();
    let err = scan(&without, &store, &ScanOptions::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
    let bad = RegistryClient::new(
        image,
        RegistryOptions {
            ca_pem: Some(b"not a certificate".to_vec()),
            ..RegistryOptions::default()
        },
    );
    assert!(matches!(bad, Err(RegistryError::Http(_))));
}
