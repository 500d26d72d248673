//! The custom-domain wizard against moto's Route53, ACM and CloudFront: from nothing to
//! "attached", resumed after stopping while ACM validates, the store record the proxy reads,
//! unchanged by a re-run; a second domain (the certificate grows a SAN), removal that
//! leaves other domains alone, the alias quota, a zone the account does not own, and the
//! public-DNS diagnostics against a small RFC 1035 server on loopback.

use std::net::SocketAddr;
use std::time::Duration;

use aws_sdk_cloudfront::types::{
    Aliases, CustomOriginConfig, DefaultCacheBehavior, DistributionConfig, Origin,
    OriginProtocolPolicy, Origins, ViewerProtocolPolicy,
};
use aws_sdk_route53::types::RrType;
use pier_aws::domain_wizard::diagnose::Resolver;
use pier_aws::domain_wizard::{
    AddOutcome, AddRequest, DomainError, Step, StepReport, StepStatus, Wizard, dns,
};
use pier_core::deploy::{DeployRequest, deploy};
use pier_core::domains;
use pier_core::progress::Progress;
use pier_core::store::DynStore;
use pier_tests::{Moto, local_store};

/// How long moto keeps a new certificate PENDING_VALIDATION before it reports it ISSUED.
const MOTO_VALIDATION_SECONDS: u64 = 2;

struct Aws {
    moto: Moto,
    route53: aws_sdk_route53::Client,
    cloudfront: aws_sdk_cloudfront::Client,
    acm: aws_sdk_acm::Client,
}

async fn start_aws() -> Aws {
    // SAFETY: set before moto (a child that inherits it) and before any test threads.
    unsafe {
        std::env::set_var(
            "MOTO_ACM_VALIDATION_WAIT",
            MOTO_VALIDATION_SECONDS.to_string(),
        )
    };
    let moto = Moto::start();
    let config = pier_core::aws::load(Some(&moto.endpoint), Some("us-east-1")).await;
    Aws {
        route53: aws_sdk_route53::Client::new(&config),
        cloudfront: aws_sdk_cloudfront::Client::new(&config),
        acm: aws_sdk_acm::Client::new(&config),
        moto,
    }
}

/// A distribution as `pier setup aws` makes one: a custom (HTTPS) origin in front of the
/// proxy, CloudFront's default certificate, and `aliases` to start with.
async fn create_distribution(aws: &Aws, reference: &str, aliases: Vec<String>) -> (String, String) {
    let origin = Origin::builder()
        .id("pier-proxy")
        .domain_name("pier-proxy-123.us-east-1.elb.amazonaws.com")
        .custom_origin_config(
            CustomOriginConfig::builder()
                .http_port(80)
                .https_port(443)
                .origin_protocol_policy(OriginProtocolPolicy::HttpsOnly)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let config = DistributionConfig::builder()
        .caller_reference(reference)
        .comment("pier")
        .enabled(true)
        .origins(
            Origins::builder()
                .quantity(1)
                .items(origin)
                .build()
                .unwrap(),
        )
        .aliases(
            Aliases::builder()
                .quantity(aliases.len() as i32)
                .set_items(Some(aliases))
                .build()
                .unwrap(),
        )
        .default_cache_behavior(
            DefaultCacheBehavior::builder()
                .target_origin_id("pier-proxy")
                .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let created = aws
        .cloudfront
        .create_distribution()
        .distribution_config(config)
        .send()
        .await
        .unwrap();
    let distribution = created.distribution.unwrap();
    (distribution.id, distribution.domain_name)
}

async fn distribution_state(aws: &Aws, id: &str) -> (Vec<String>, Option<String>) {
    let found = aws
        .cloudfront
        .get_distribution()
        .id(id)
        .send()
        .await
        .unwrap();
    let config = found.distribution.unwrap().distribution_config.unwrap();
    let aliases = config.aliases.and_then(|a| a.items).unwrap_or_default();
    let certificate = config
        .viewer_certificate
        .and_then(|c| c.acm_certificate_arn)
        .filter(|arn| !arn.is_empty());
    (aliases, certificate)
}

async fn certificate_arns(aws: &Aws) -> Vec<String> {
    aws.acm
        .list_certificates()
        .send()
        .await
        .unwrap()
        .certificate_summary_list()
        .iter()
        .filter_map(|summary| summary.certificate_arn().map(str::to_string))
        .collect()
}

/// How long a run that should finish waits for ACM; far above moto's validation delay.
const CERTIFICATE_WAIT: Duration = Duration::from_secs(30);

/// The user's `example.com` zone and a distribution as `pier setup aws` leaves them in moto,
/// an empty local store, and the wizard connected to that moto.
struct Scene {
    aws: Aws,
    zone: String,
    distribution: String,
    /// The distribution's own `*.cloudfront.net` name, which aliases point at.
    target: String,
    store: DynStore,
    _store_dir: tempfile::TempDir,
    wizard: Wizard,
}

impl Scene {
    async fn start(distribution_reference: &str, aliases: Vec<String>) -> Scene {
        let aws = start_aws().await;
        let zone = aws.moto.hosted_zone("example.com").await;
        let (distribution, target) =
            create_distribution(&aws, distribution_reference, aliases).await;
        let (store, _store_dir) = local_store().await;
        let wizard = Wizard::connect(Some(&aws.moto.endpoint)).await;
        Scene {
            aws,
            zone,
            distribution,
            target,
            store,
            _store_dir,
            wizard,
        }
    }

    /// Adds `domain` for `project` on the scene's distribution, checking that every step
    /// is reported as it ends.
    async fn add(&self, domain: &str, project: &str, wait: Duration) -> AddOutcome {
        let request = request(domain, project, &self.distribution, wait);
        run(&self.wizard, &self.store, &request).await
    }

    /// The error adding `domain` stops at, without waiting for any certificate.
    async fn add_refused(&self, domain: &str) -> DomainError {
        let request = request(domain, "blog", &self.distribution, Duration::ZERO);
        self.wizard
            .add(self.store.as_ref(), &request, &mut |_: &StepReport| {})
            .await
            .unwrap_err()
    }
}

fn request(domain: &str, project: &str, distribution: &str, wait: Duration) -> AddRequest {
    AddRequest {
        domain: domain.into(),
        project: project.into(),
        distribution_id: distribution.into(),
        wait,
        poll_every: Duration::from_millis(500),
    }
}

async fn run(wizard: &Wizard, store: &DynStore, request: &AddRequest) -> AddOutcome {
    let mut seen = Vec::new();
    let outcome = wizard
        .add(store.as_ref(), request, &mut |step: &StepReport| {
            seen.push(step.clone())
        })
        .await
        .unwrap_or_else(|e| panic!("the wizard failed: {e} (hint: {})", e.hint()));
    assert_eq!(seen, outcome.steps, "every step is reported as it ends");
    outcome
}

fn status_of(outcome: &AddOutcome, step: Step) -> StepStatus {
    outcome
        .steps
        .iter()
        .rev()
        .find(|report| report.step == step)
        .unwrap_or_else(|| panic!("no {step:?} step in {:#?}", outcome.steps))
        .status
}

async fn deploy_site(store: &DynStore, project: &str, body: &str) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), body).unwrap();
    let request = DeployRequest::folder(dir.path().to_path_buf(), Some(project.into()), true);
    deploy(store.as_ref(), &request, &Progress::silent())
        .await
        .unwrap();
}

#[tokio::test]
async fn domain_wizard_runs_to_attached_resumes_and_changes_nothing_on_a_rerun() {
    let scene = Scene::start("pier-setup", Vec::new()).await;
    let Scene {
        aws,
        zone,
        distribution,
        target,
        store,
        wizard,
        ..
    } = &scene;
    deploy_site(store, "blog", "<h1>the blog</h1>").await;

    // First run without waiting: moto keeps the certificate PENDING_VALIDATION for a while,
    // so the wizard stops after writing the validation records, resumable.
    let first = scene.add("WWW.Example.com", "blog", Duration::ZERO).await;
    assert!(!first.attached);
    assert_eq!(status_of(&first, Step::Certificate), StepStatus::Changed);
    assert_eq!(
        status_of(&first, Step::ValidationRecords),
        StepStatus::Changed
    );
    assert_eq!(status_of(&first, Step::Issued), StepStatus::Waiting);
    let arn = first.certificate_arn.clone().unwrap();
    assert!(arn.starts_with("arn:aws:acm:us-east-1:"), "{arn}");
    let zone_ref = pier_aws::domain_wizard::zone::Zone {
        id: zone.clone(),
        name: "example.com".into(),
    };
    let certificate = pier_aws::domain_wizard::certificate::describe(
        &pier_aws::domain_wizard::certificate::client(
            &pier_core::aws::load(Some(&aws.moto.endpoint), Some("eu-west-1")).await,
        ),
        &arn,
    )
    .await
    .unwrap();
    assert!(certificate.names.contains(&"www.example.com".to_string()));
    assert!(!certificate.validation_records.is_empty());
    for (name, value) in &certificate.validation_records {
        assert!(
            dns::has_cname(&aws.route53, &zone_ref, name, value)
                .await
                .unwrap(),
            "validation CNAME {name} is in the zone"
        );
    }
    // Nothing is live before the certificate is issued.
    assert_eq!(distribution_state(aws, distribution).await, (vec![], None));
    assert!(
        domains::lookup(store.as_ref(), "www.example.com")
            .await
            .unwrap()
            .is_none()
    );
    let state = pier_aws::domain_wizard::read_state(store.as_ref(), "www.example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.certificate_arn.as_deref(), Some(arn.as_str()));
    assert_eq!(state.reached, Some(Step::ValidationRecords));

    // The re-run resumes with the same certificate, waits for it, and finishes.
    let second = scene.add("www.example.com", "blog", CERTIFICATE_WAIT).await;
    assert!(second.attached, "{:#?}", second.steps);
    assert_eq!(second.certificate_arn.as_deref(), Some(arn.as_str()));
    assert_eq!(status_of(&second, Step::Certificate), StepStatus::Done);
    assert_eq!(status_of(&second, Step::Issued), StepStatus::Done);
    assert_eq!(status_of(&second, Step::CloudFront), StepStatus::Changed);
    assert_eq!(status_of(&second, Step::DnsRecords), StepStatus::Changed);
    assert_eq!(status_of(&second, Step::Attach), StepStatus::Changed);
    assert_eq!(status_of(&second, Step::Verify), StepStatus::Done);
    assert_eq!(certificate_arns(aws).await, vec![arn.clone()]);
    assert_eq!(
        distribution_state(aws, distribution).await,
        (vec!["www.example.com".to_string()], Some(arn.clone()))
    );
    for kind in [RrType::A, RrType::Aaaa] {
        let record = dns::read(&aws.route53, &zone_ref, "www.example.com", kind.clone())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("a {kind:?} record"));
        let alias = record.alias_target().unwrap();
        assert_eq!(alias.hosted_zone_id(), "Z2FDTNDATAQYW2");
        assert_eq!(alias.dns_name().trim_end_matches('.'), target);
    }
    let record = domains::lookup(store.as_ref(), "www.example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.project, "blog");

    // What the proxy reads for that host: the record names the project, whose production
    // deployment is the site (the CLI test fetches it through `pier serve`).
    let production = pier_core::alias::read(store.as_ref(), &record.project)
        .await
        .unwrap()
        .and_then(|alias| alias.production)
        .expect("blog has a production deployment");
    assert!(!production.is_empty());

    // A re-run changes nothing.
    let third = scene.add("www.example.com", "blog", CERTIFICATE_WAIT).await;
    assert!(third.attached);
    for step in &third.steps {
        assert_eq!(step.status, StepStatus::Done, "{step:?}");
    }
    assert_eq!(certificate_arns(aws).await, vec![arn.clone()]);

    // A second domain: the distribution's one certificate must cover both, so a new one
    // names both; removing the second leaves the first alias and its records alone.
    deploy_site(store, "docs", "<h1>the docs</h1>").await;
    let docs = scene
        .add("docs.example.com", "docs", CERTIFICATE_WAIT)
        .await;
    assert!(docs.attached, "{:#?}", docs.steps);
    let both = docs.certificate_arn.clone().unwrap();
    assert_ne!(both, arn);
    let (aliases, certificate) = distribution_state(aws, distribution).await;
    assert_eq!(aliases, vec!["www.example.com", "docs.example.com"]);
    assert_eq!(certificate.as_deref(), Some(both.as_str()));
    assert_eq!(
        domains::lookup(store.as_ref(), "docs.example.com")
            .await
            .unwrap()
            .unwrap()
            .project,
        "docs"
    );

    let removed = wizard
        .remove(store.as_ref(), "docs.example.com", None)
        .await
        .unwrap();
    assert!(
        removed
            .steps
            .iter()
            .all(|s| s.status == StepStatus::Changed),
        "{:#?}",
        removed.steps
    );
    let (aliases, _) = distribution_state(aws, distribution).await;
    assert_eq!(aliases, vec!["www.example.com"]);
    assert!(
        dns::missing_aliases(&aws.route53, &zone_ref, "docs.example.com", target)
            .await
            .unwrap()
            .len()
            == 2
    );
    assert!(
        dns::missing_aliases(&aws.route53, &zone_ref, "www.example.com", target)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        domains::lookup(store.as_ref(), "docs.example.com")
            .await
            .unwrap()
            .is_none()
    );
    let listed = pier_aws::domain_wizard::list(store.as_ref()).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].domain, "www.example.com");
    assert!(listed[0].attached);
    let again = wizard
        .remove(store.as_ref(), "docs.example.com", Some(distribution))
        .await;
    assert!(matches!(again, Err(DomainError::NotManaged { .. })));
}

#[tokio::test]
async fn a_domain_in_a_zone_the_account_does_not_own_gets_a_clear_message() {
    let scene = Scene::start("pier-setup", Vec::new()).await;
    let Scene {
        aws, target, store, ..
    } = &scene;
    let error = scene.add_refused("www.example.org").await;
    let message = error.to_string();
    assert!(
        matches!(error, DomainError::ZoneNotInAccount { .. }),
        "{message}"
    );
    assert!(
        message.contains("no public Route53 hosted zone"),
        "{message}"
    );
    assert!(
        message.contains(&format!("www.example.org. CNAME {target}.")),
        "{message}"
    );
    assert!(error.hint().contains("registrar"), "{}", error.hint());
    assert!(
        certificate_arns(aws).await.is_empty(),
        "no certificate requested"
    );
    assert!(
        pier_aws::domain_wizard::list(store.as_ref())
            .await
            .unwrap()
            .is_empty()
    );
    // A name that merely ends like the zone is not in it.
    let error = scene.add_refused("myexample.com").await;
    assert!(matches!(error, DomainError::ZoneNotInAccount { .. }));
}

#[tokio::test]
async fn the_hundred_and_first_alias_is_refused_before_anything_is_requested() {
    let full: Vec<String> = (0..100).map(|i| format!("site{i}.example.com")).collect();
    let scene = Scene::start("pier-full", full).await;
    let error = scene.add_refused("www.example.com").await;
    assert!(
        matches!(error, DomainError::AliasQuota { count: 100, .. }),
        "{error}"
    );
    assert!(error.hint().contains("pier domains rm"));
    assert!(certificate_arns(&scene.aws).await.is_empty());
}

/// A tiny authoritative-looking DNS server on loopback: answers each question from `answers`
/// (name, type) → records, hand-encoded per RFC 1035 §4.1.3, NXDOMAIN-free empty answers
/// otherwise.
async fn dns_server(answers: Vec<(String, u16, Vec<u8>)>) -> SocketAddr {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buffer = [0u8; 512];
        loop {
            let Ok((length, from)) = socket.recv_from(&mut buffer).await else {
                return;
            };
            let query = &buffer[..length];
            let mut at = 12;
            let mut labels = Vec::new();
            while query[at] != 0 {
                let len = query[at] as usize;
                labels.push(String::from_utf8_lossy(&query[at + 1..at + 1 + len]).to_string());
                at += 1 + len;
            }
            let question_end = at + 5;
            let kind = u16::from_be_bytes([query[at + 1], query[at + 2]]);
            let name = labels.join(".").to_ascii_lowercase();
            let matching: Vec<&Vec<u8>> = answers
                .iter()
                .filter(|(n, k, _)| *n == name && *k == kind)
                .map(|(_, _, rdata)| rdata)
                .collect();
            let mut reply = Vec::new();
            reply.extend_from_slice(&query[..2]);
            reply.extend_from_slice(&[0x81, 0x80, 0, 1]);
            reply.extend_from_slice(&(matching.len() as u16).to_be_bytes());
            reply.extend_from_slice(&[0, 0, 0, 0]);
            reply.extend_from_slice(&query[12..question_end]);
            for rdata in matching {
                reply.extend_from_slice(&[0xC0, 12]); // the question's name
                reply.extend_from_slice(&kind.to_be_bytes());
                reply.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
                reply.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
                reply.extend_from_slice(rdata);
            }
            let _ = socket.send_to(&reply, from).await;
        }
    });
    addr
}

fn wire_name(name: &str) -> Vec<u8> {
    let mut wire = Vec::new();
    for label in name.split('.') {
        wire.push(label.len() as u8);
        wire.extend_from_slice(label.as_bytes());
    }
    wire.push(0);
    wire
}

fn caa(tag: &str, value: &str) -> Vec<u8> {
    let mut rdata = vec![0, tag.len() as u8];
    rdata.extend_from_slice(tag.as_bytes());
    rdata.extend_from_slice(value.as_bytes());
    rdata
}

#[tokio::test]
async fn verify_reads_delegation_caa_and_propagation_from_public_dns() {
    let scene = Scene::start("pier-setup", Vec::new()).await;
    scene.add("www.example.com", "blog", CERTIFICATE_WAIT).await;
    let name_servers = scene
        .aws
        .route53
        .get_hosted_zone()
        .id(&scene.zone)
        .send()
        .await
        .unwrap()
        .delegation_set()
        .unwrap()
        .name_servers()
        .to_vec();

    let (store, wizard) = (&scene.store, &scene.wizard);
    let verify_using = async |resolver: &Resolver| {
        wizard
            .verify(store.as_ref(), "www.example.com", None, Some(resolver))
            .await
            .unwrap()
    };
    // `www.example.com` checked against a public DNS server answering `records`.
    let verify_with = async |records: Vec<(String, u16, Vec<u8>)>| {
        verify_using(&Resolver::new(dns_server(records).await)).await
    };

    // Delegated correctly, resolving to the distribution, but a CAA record only for
    // Let's Encrypt at the parent: ACM could not renew.
    let checks = verify_with(vec![
        ("example.com".into(), 2, wire_name(&name_servers[0])),
        ("example.com".into(), 257, caa("issue", "letsencrypt.org")),
        ("www.example.com".into(), 1, vec![192, 0, 2, 10]),
        (scene.target.clone(), 1, vec![192, 0, 2, 10]),
    ])
    .await;
    let status = |step| {
        checks
            .iter()
            .find(|check| check.step == step)
            .unwrap_or_else(|| panic!("no {step:?} in {checks:#?}"))
            .clone()
    };
    for step in [
        Step::Zone,
        Step::Certificate,
        Step::CloudFront,
        Step::DnsRecords,
        Step::Attach,
    ] {
        assert_eq!(status(step).status, StepStatus::Done, "{:?}", status(step));
    }
    assert_eq!(status(Step::Delegation).status, StepStatus::Done);
    let caa_check = status(Step::Caa);
    assert_eq!(caa_check.status, StepStatus::Failed);
    assert!(
        caa_check.detail.contains("letsencrypt.org"),
        "{caa_check:?}"
    );
    assert!(caa_check.detail.contains("amazon.com"), "{caa_check:?}");
    assert_eq!(status(Step::Propagation).status, StepStatus::Done);

    // Delegated elsewhere (the zone is not authoritative) and still resolving to an old host.
    let checks = verify_with(vec![
        ("example.com".into(), 2, wire_name("ns1.old-dns-host.net")),
        ("www.example.com".into(), 1, vec![198, 51, 100, 7]),
        (scene.target.clone(), 1, vec![192, 0, 2, 10]),
    ])
    .await;
    let delegation = checks.iter().find(|c| c.step == Step::Delegation).unwrap();
    assert_eq!(delegation.status, StepStatus::Failed);
    assert!(
        delegation.detail.contains("not authoritative"),
        "{delegation:?}"
    );
    assert!(
        delegation
            .detail
            .contains(name_servers[0].trim_end_matches('.'))
    );
    let caa_check = checks.iter().find(|c| c.step == Step::Caa).unwrap();
    assert_eq!(
        caa_check.status,
        StepStatus::Done,
        "no CAA anywhere: {caa_check:?}"
    );
    let propagation = checks.iter().find(|c| c.step == Step::Propagation).unwrap();
    assert_eq!(propagation.status, StepStatus::Waiting);
    assert!(propagation.detail.contains("198.51.100.7"));

    // A resolver that does not answer makes the public checks skipped, never guessed.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut resolver = Resolver::new(silent.local_addr().unwrap());
    resolver.timeout = Duration::from_millis(200);
    let checks = verify_using(&resolver).await;
    for step in [Step::Delegation, Step::Caa, Step::Propagation] {
        let check = checks.iter().find(|c| c.step == step).unwrap();
        assert_eq!(check.status, StepStatus::Skipped, "{check:?}");
    }
}
